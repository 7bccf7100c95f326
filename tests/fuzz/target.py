"""A real Dockyard server under fuzzing: how to reach it, sign in to it, seed it with content,
and send it anything, every answer counted and checked against the property."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from dockyard.oci.names import is_valid_name
from tests.fuzz.checks import ServerFault, check_answer
from tests.fuzz.stats import Stats, workers_rss
from tests.fuzz.wire import Answer, Header, raw_request, sent
from tests.support.index import ADMIN_PASSWORD, SERVICE
from tests.support.servers import DockyardServer, ServerLog

Mode = Literal["none", "index"]
# How a fuzzed request is signed: as the fuzzer's admin token ("proper": a registry token for
# the repository, or Basic with an access token on /api and /token), with the admin password
# (argon2: slow, used sparingly), anonymously, or with these exact header bytes.
Auth = Literal["proper", "password", "anonymous"] | bytes

# Content every fuzzed repository can point at: seeded in CONTENT_REPO for each server.
CONTENT_REPO = "fuzz/content"
MANIFEST_REPO = "fuzz/manifests"  # where fuzzed manifests are pushed and deleted
EVENTS_SECRET = "fuzz-events-secret"  # the index's index.events.secret (POST /api/events)
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
LAYER = b"fuzz layer " * 300
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_manifest(config: bytes, layers: Sequence[bytes]) -> bytes:
    def descriptor(media_type: str, data: bytes) -> dict[str, object]:
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", b) for b in layers],
        }
    ).encode()


BASE_MANIFEST = image_manifest(CONFIG, [LAYER])
KNOWN_BLOBS = {sha256(CONFIG): CONFIG, sha256(LAYER): LAYER}
BASE_DIGEST = sha256(BASE_MANIFEST)

# What h11 (under httpx) accepts in a header; anything else goes out on a bare socket.
_HEADER_NAME = re.compile(rb"^[-!#$%&'*+.^_`|~0-9a-zA-Z]+$")
_HEADER_VALUE = re.compile(rb"^(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?$")
_FRAMING = {b"content-length", b"transfer-encoding", b"host", b"connection", b"expect"}
# A target httpx sends as it is: only characters a URL may hold, escapes well formed.
MAX_HTTPX_URL = 60_000  # httpx refuses URLs past 64 KiB
_CLEAN_TARGET = re.compile(r"^/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


@dataclass(repr=False)
class FuzzTarget:
    mode: Mode
    server: DockyardServer
    stats: Stats
    client: httpx.Client = field(init=False)
    log: ServerLog = field(init=False)
    access_token: str | None = None  # the admin's personal access token (index mode)
    _tokens: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        timeout = httpx.Timeout(20, connect=5)
        self.client = httpx.Client(base_url=self.server.url, timeout=timeout)
        self.log = ServerLog(self.server.log)
        self.log.skip_to_end()

    def __repr__(self) -> str:
        return f"FuzzTarget(auth {self.mode!r} at {self.server.url})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What Hypothesis prints for this argument of a failing example."""
        printer.text(repr(self))

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.server.url)
        assert parts.hostname is not None and parts.port is not None
        return parts.hostname, parts.port

    # --- sending -------------------------------------------------------------------------

    def send(
        self,
        method: str,
        target: str,
        headers: Sequence[Header] = (),
        body: bytes = b"",
        *,
        raw: bool = False,
        half_close: bool = True,
    ) -> Answer:
        """Send, count and check one request (raw when httpx could not send it as given)."""
        if raw or not self._httpx_can_send(target, headers):
            answer = raw_request(self.address, method, target, headers, body, half_close=half_close)
        else:
            answer = self._through_httpx(method, target, headers, body)
        self.stats.record(self.mode, answer)
        try:
            check_answer(answer, self.log)
        except ServerFault as fault:
            self.stats.faults[f"[auth {self.mode}] {fault.cause}"] += 1
            raise
        return answer

    def _through_httpx(
        self, method: str, target: str, headers: Sequence[Header], body: bytes
    ) -> Answer:
        """A well-formed request must get an answer: a dropped connection or none in time
        fails the test."""
        try:
            response = self.client.request(method, target, headers=list(headers), content=body)
        except httpx.TimeoutException as exc:
            raise AssertionError(f"no answer in time: {method} {target[:300]}") from exc
        except httpx.TransportError as exc:
            self.stats.record(self.mode, Answer(method, target, None))
            raise AssertionError(f"connection failed: {method} {target[:300]}") from exc
        return Answer(
            method,
            target,
            response.status_code,
            {name.lower(): value for name, value in response.headers.items()},
            response.content,
            sent=sent(headers, body),
        )

    @staticmethod
    def _httpx_can_send(target: str, headers: Sequence[Header]) -> bool:
        if len(target) > MAX_HTTPX_URL or _CLEAN_TARGET.fullmatch(target) is None:
            return False
        if _DOT_SEGMENT.search(target.partition("?")[0]):
            return False  # httpx resolves `.` and `..` away: another request than meant
        return all(
            _HEADER_NAME.fullmatch(name) is not None
            and _HEADER_VALUE.fullmatch(value) is not None
            and name.lower() not in _FRAMING
            for name, value in headers
        )

    # --- signing in ----------------------------------------------------------------------

    def auth_headers(self, auth: Auth, kind: Literal["registry", "api"], name: str | None = None
                     ) -> list[Header]:  # fmt: skip
        """The Authorization header for a fuzzed request to a repository `name` (None: the
        registry as a whole) or to /api and /token."""
        if isinstance(auth, bytes):
            return [(b"Authorization", auth)]
        if auth == "anonymous" or self.mode == "none":
            return []
        if auth == "password":
            return [(b"Authorization", _basic("admin", ADMIN_PASSWORD))]
        if kind == "api":
            assert self.access_token is not None
            return [(b"Authorization", _basic("admin", self.access_token))]
        token = self.registry_token(name)
        return [] if token is None else [(b"Authorization", b"Bearer " + token.encode())]

    def registry_token(self, name: str | None) -> str | None:
        """A token for everything on repository `name` (the catalogue when None); None for a
        name no token can name (the registry refuses the name before it looks at tokens)."""
        if name is not None and not is_valid_name(name):
            return None
        scope = "registry:catalog:*" if name is None else f"repository:{name}:pull,push,delete"
        if scope not in self._tokens:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            assert self.access_token is not None
            query = httpx.QueryParams({"service": SERVICE, "scope": scope})
            headers = [(b"Authorization", _basic("admin", self.access_token))]
            answer = self.send("GET", f"/token?{query}", headers)
            assert answer.status == 200, answer.describe()
            self._tokens[scope] = json.loads(answer.body)["token"]
        return self._tokens[scope]

    def sign_in(self) -> None:
        """Make the admin's access token that fuzzed requests sign in with (index mode)."""
        if self.mode == "none":
            return
        name = f"fuzz-{uuid.uuid4().hex}"  # no fuzzed name is ever this: nothing revokes it
        body = json.dumps({"name": name, "scopes": ["read", "write", "delete"]}).encode()
        headers = [
            (b"Authorization", _basic("admin", ADMIN_PASSWORD)),
            (b"Content-Type", b"application/json"),
        ]
        answer = self.send("POST", "/api/tokens", headers, body)
        assert answer.status == 201, answer.describe()
        self.access_token = json.loads(answer.body)["token"]

    # --- content -------------------------------------------------------------------------

    def seed(self) -> None:
        """The known blobs and the base manifest (tag `base`) in the repositories fuzzed
        requests point at, again before each test (a fuzzed DELETE may have taken them)."""
        for repository in (CONTENT_REPO, MANIFEST_REPO):
            for blob in (CONFIG, LAYER):
                self.push_blob(repository, blob)
            self.put_manifest(repository, "base", BASE_MANIFEST)

    def push_blob(self, repository: str, data: bytes) -> None:
        headers = self.auth_headers("proper", "registry", repository)
        target = f"/v2/{repository}/blobs/uploads/?digest={sha256(data)}"
        answer = self.send("POST", target, headers, data)
        assert answer.status == 201, answer.describe()

    def put_manifest(self, repository: str, reference: str, body: bytes) -> None:
        headers = [
            *self.auth_headers("proper", "registry", repository),
            (b"Content-Type", OCI_MANIFEST.encode()),
        ]
        answer = self.send("PUT", f"/v2/{repository}/manifests/{reference}", headers, body)
        assert answer.status == 201, answer.describe()

    def push_and_pull(self) -> None:
        """A normal push (two blobs and a manifest) and pull: the server still serves."""
        repository = "fuzz/still-serves"
        layer = f"still serves {uuid.uuid4()}".encode()
        self.push_blob(repository, CONFIG)
        self.push_blob(repository, layer)
        manifest = image_manifest(CONFIG, [layer])
        self.put_manifest(repository, "latest", manifest)
        headers = self.auth_headers("proper", "registry", repository)
        pulled = self.send("GET", f"/v2/{repository}/manifests/latest", headers)
        assert (pulled.status, pulled.body) == (200, manifest), pulled.describe()
        blob = self.send("GET", f"/v2/{repository}/blobs/{sha256(layer)}", headers)
        assert (blob.status, blob.body) == (200, layer), blob.describe()

    def workers_rss(self) -> int:
        return workers_rss(self.server.process.pid)

    def close(self) -> None:
        self.client.close()


def _basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())
