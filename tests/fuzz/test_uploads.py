"""Fuzzing upload sessions as a state machine: sessions opened for real (monolithic, mounted,
chunked) and ids made up, then PATCH, PUT, GET and DELETE on any of them in any order, with
Content-Range headers right, wrong and absurd, digests right and wrong, and bodies cut short."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import (
    auths,
    content_ranges,
    digests,
    header_bytes,
    media_types,
    names,
    numbers,
    odd_text,
    path_text,
)
from tests.fuzz.target import CONTENT_REPO, KNOWN_BLOBS, Auth, FuzzTarget
from tests.fuzz.wire import Header, encode

UPLOAD_REPOS = ["fuzz/uploads", "fuzz/uploads-too", CONTENT_REPO]
repositories = st.one_of(st.sampled_from(UPLOAD_REPOS), st.sampled_from(UPLOAD_REPOS), names)
chunks = st.one_of(st.binary(max_size=64), st.binary(min_size=1, max_size=4096))
invented_ids = st.one_of(
    st.uuids().map(str),
    st.text("0123456789abcdef-", min_size=1, max_size=40),
    odd_text.filter(bool),
)


class UploadSessions(RuleBasedStateMachine):
    """The model: what the client sent to each session it opened (to compute right digests
    and ranges); the server may refuse anything, but never with a 5xx."""

    target: FuzzTarget  # set by the test, per auth mode

    locations = Bundle("locations")

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, bytearray] = {}

    def _headers(self, auth: Auth, location: str, extra: list[Header]) -> list[Header]:
        name = location.removeprefix("/v2/").split("/blobs/uploads/", 1)[0]
        return [*self.target.auth_headers(auth, "registry", name), *extra]

    @rule(target=locations, repository=repositories, auth=auths())
    def open_session(self, repository: str, auth: Auth) -> object:
        headers = self._headers(auth, f"/v2/{repository}/blobs/uploads/", [])
        answer = self.target.send("POST", f"/v2/{encode(repository, '/')}/blobs/uploads/", headers)
        location = answer.headers.get("location")
        if answer.status != 202 or location is None:
            return multiple()
        self.sent[location] = bytearray()
        return location

    @rule(
        repository=repositories,
        digest=st.one_of(st.sampled_from(list(KNOWN_BLOBS)), digests),
        source=st.one_of(st.none(), st.sampled_from(UPLOAD_REPOS), names),
        body=st.one_of(st.just(b""), chunks),
        how=st.sampled_from(["mount", "monolithic", "both"]),
        auth=auths(),
    )
    def start_with_query(
        self, repository: str, digest: str, source: str | None, body: bytes, how: str, auth: Auth
    ) -> None:
        query = []
        if how in ("mount", "both"):
            query.append(f"mount={encode(digest)}")
            if source is not None:
                query.append(f"from={encode(source)}")
        if how in ("monolithic", "both"):
            right = "sha256:" + hashlib.sha256(body).hexdigest()
            query.append(f"digest={encode(right if digest in KNOWN_BLOBS else digest)}")
        headers = self._headers(auth, f"/v2/{repository}/blobs/uploads/", [])
        path = f"/v2/{encode(repository, '/')}/blobs/uploads/?" + "&".join(query)
        self.target.send("POST", path, headers, body)

    @rule(target=locations, repository=repositories, upload=invented_ids)
    def invent_session(self, repository: str, upload: str) -> str:
        return f"/v2/{encode(repository, '/')}/blobs/uploads/{encode(upload)}"

    @rule(target=locations, location=locations, repository=repositories)
    def elsewhere(self, location: str, repository: str) -> str:
        """A real session's id under another repository's name."""
        upload = location.rsplit("/", 1)[1]
        return f"/v2/{encode(repository, '/')}/blobs/uploads/{upload}"

    @rule(
        location=locations,
        chunk=chunks,
        content_range=st.one_of(st.sampled_from(["right", "none", "wrong"]), content_ranges),
        content_type=st.one_of(st.none(), media_types),
        auth=auths(),
    )
    def patch(
        self, location: str, chunk: bytes, content_range: str, content_type: str | None, auth: Auth
    ) -> None:
        sent = self.sent.get(location, bytearray())
        extra: list[Header] = []
        if content_range == "right":
            extra.append((b"Content-Range", f"{len(sent)}-{len(sent) + len(chunk) - 1}".encode()))
        elif content_range == "wrong":
            extra.append((b"Content-Range", f"{len(sent) + 1}-{len(sent) + len(chunk)}".encode()))
        elif content_range != "none":
            extra.append((b"Content-Range", header_bytes(content_range)))
        if content_type is not None:
            extra.append((b"Content-Type", header_bytes(content_type)))
        answer = self.target.send("PATCH", location, self._headers(auth, location, extra), chunk)
        if answer.status == 202 and location in self.sent:
            sent += chunk

    @rule(location=locations, chunk=chunks, declared=st.one_of(numbers, st.integers(1, 10**6)))
    def patch_cut_short(self, location: str, chunk: bytes, declared: str | int) -> None:
        """A body shorter (or other) than its Content-Length, the sending side then closed:
        the session must stay usable (the model forgets what it holds)."""
        length = str(len(chunk) + declared) if isinstance(declared, int) else declared
        extra = [(b"Content-Length", header_bytes(length))]
        headers = self._headers("proper", location, extra)
        self.target.send("PATCH", location, headers, chunk, raw=True)
        self.sent.pop(location, None)

    @rule(
        location=locations,
        last=st.one_of(st.just(b""), chunks),
        digest=st.one_of(st.sampled_from(["right", "right", "none"]), digests),
        auth=auths(),
    )
    def finish(self, location: str, last: bytes, digest: str, auth: Auth) -> None:
        whole = bytes(self.sent.get(location, b"")) + last
        query = ""
        if digest == "right":
            query = "?digest=sha256:" + hashlib.sha256(whole).hexdigest()
        elif digest != "none":
            query = "?digest=" + encode(digest)
        self.target.send("PUT", location + query, self._headers(auth, location, []), last)

    @rule(
        location=locations, method=st.sampled_from(["GET", "DELETE", "HEAD", "POST"]), auth=auths()
    )
    def other(self, location: str, method: str, auth: Auth) -> None:
        self.target.send(method, location, self._headers(auth, location, []))

    @rule(location=locations, query=st.one_of(odd_text, numbers).flatmap(path_text))
    def junk_query(self, location: str, query: str) -> None:
        self.target.send("GET", f"{location}?{query}", self._headers("proper", location, []))


def test_upload_sessions_answer_without_a_server_error(target: FuzzTarget) -> None:
    class Sessions(UploadSessions):
        pass

    Sessions.target = target
    # A dozen requests an example: a quarter of the other tests' examples in a long run.
    steps = fuzz_settings(examples=30, long_share=0.25, stateful_step_count=12)
    run_state_machine_as_test(Sessions, settings=steps)


@fuzz_settings(examples=50)
@given(
    content_range=content_ranges,
    chunk=chunks,
    session=st.sampled_from(["open", "invented"]),
    auth=auths(),
)
def test_content_range_of_a_chunk_answers_without_a_server_error(
    target: FuzzTarget, content_range: str, chunk: bytes, session: str, auth: Auth
) -> None:
    repository = UPLOAD_REPOS[0]
    headers = target.auth_headers(auth, "registry", repository)
    location = f"/v2/{repository}/blobs/uploads/00000000-0000-4000-8000-000000000000"
    if session == "open":
        proper = target.auth_headers("proper", "registry", repository)
        opened = target.send("POST", f"/v2/{repository}/blobs/uploads/", proper)
        location = opened.headers.get("location", location)
    headers.append((b"Content-Range", header_bytes(content_range)))
    target.send("PATCH", location, headers, chunk)
