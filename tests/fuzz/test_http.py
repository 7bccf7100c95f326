"""Fuzzing HTTP itself, on a bare socket: Content-Length values that lie or are not numbers,
bodies cut short, chunked bodies that break off, header bytes no client library sends, and
request targets with raw bytes. The server may close such a connection without an answer; if
it answers, the answer has the property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.profile import fuzz_settings
from tests.fuzz.strategies import ALNUM, Draw, header_bytes, numbers, odd_text, path_text
from tests.fuzz.target import CONTENT_REPO, MANIFEST_REPO, FuzzTarget
from tests.fuzz.wire import Header

# One route of each family that reads a body, and a few that do not.
TARGETS = [
    ("POST", "/api/users"),
    ("POST", "/api/orgs"),
    ("POST", "/token"),
    ("PUT", f"/v2/{MANIFEST_REPO}/manifests/fuzzed"),
    ("POST", f"/v2/{CONTENT_REPO}/blobs/uploads/"),
    ("PATCH", f"/v2/{CONTENT_REPO}/blobs/uploads/00000000-0000-0000-0000-000000000000"),
    ("GET", f"/v2/{CONTENT_REPO}/tags/list"),
    ("GET", "/v2/"),
    # The health probes, answered before every other middleware.
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/readyz"),
]


@st.composite
def framings(draw: Draw) -> tuple[list[Header], bytes]:
    body = draw(st.binary(max_size=256))
    kind = draw(st.sampled_from(["short", "long", "junk", "two", "chunked", "chunked-junk"]))
    if kind == "short":  # the body ends before the declared length
        return [(b"Content-Length", str(len(body) + draw(st.integers(1, 10**9))).encode())], body
    if kind == "long":  # more bytes than declared: the rest reads as another request
        return [(b"Content-Length", str(draw(st.integers(0, len(body)))).encode())], body
    if kind == "junk":
        return [(b"Content-Length", header_bytes(draw(numbers)))], body
    if kind == "two":
        first, second = draw(st.integers(0, 300)), draw(st.integers(0, 300))
        return [(b"Content-Length", b"%d" % first), (b"Content-Length", b"%d" % second)], body
    chunk = b"%x\r\n%s\r\n" % (len(body), body)
    if kind == "chunked":  # no terminating chunk: the body breaks off
        return [(b"Transfer-Encoding", b"chunked")], chunk
    size = header_bytes(draw(numbers))
    return [(b"Transfer-Encoding", b"chunked")], size + b"\r\n" + body + b"\r\n0\r\n\r\n"


HEADER_NAMES = [b"Content-Type", b"Authorization", b"Accept", b"Range", b"Content-Range", b"X-Fuzz",
                b"X Fuzz", b"X:Fuzz", b"\xff\xfe", b"", b"X\x00", b" Leading", b"Forwarded",
                b"X-Forwarded-For", b"X-Forwarded-Host"]  # fmt: skip
header_junk = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(HEADER_NAMES), st.text(ALNUM + "-", min_size=1).map(str.encode)),
        st.one_of(
            st.binary(max_size=40).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b"")),
            odd_text.map(header_bytes),
        ),
    ),
    max_size=3,
)


@fuzz_settings(examples=60)
@given(
    route=st.sampled_from(TARGETS),
    framing=framings(),
    headers=header_junk,
)
def test_broken_framing_answers_without_a_server_error(
    target: FuzzTarget, route: tuple[str, str], framing: tuple[list[Header], bytes],
    headers: list[Header],
) -> None:  # fmt: skip
    method, path = route
    declared, body = framing
    auth = target.auth_headers(
        "proper",
        "api" if not path.startswith("/v2/") else "registry",
        CONTENT_REPO if CONTENT_REPO in path else MANIFEST_REPO,
    )
    target.send(method, path, [*auth, *declared, *headers], body, raw=True)


@fuzz_settings(examples=50)
@given(
    method=st.one_of(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10),
    ),
    path=st.one_of(
        st.sampled_from(["/v2/", "/v2/_catalog", "/token", "/api/users", "/api/user"]),
        odd_text.flatmap(path_text).map(lambda p: "/v2/" + p),
        odd_text.flatmap(path_text).map(lambda p: "/api/" + p),
        st.sampled_from(
            [
                "*",
                "http://example.com/v2/",
                "//v2/",
                "/v2/%",
                "/v2/%zz",
                "/v2/%00",
                "/v2/\x7f",
                "v2",
            ]
        ),
        st.integers(1000, 20_000).map(lambda k: "/v2/" + "a" * k),
    ),
    query=st.one_of(st.just(""), odd_text.flatmap(path_text).map(lambda q: "?" + q)),
)
def test_odd_request_lines_answer_without_a_server_error(
    target: FuzzTarget, method: str, path: str, query: str
) -> None:
    headers = target.auth_headers("proper", "registry")
    target.send(method, (path + query).replace(" ", "%20"), headers, raw=True)
