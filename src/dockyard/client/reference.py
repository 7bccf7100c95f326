"""Image references parsed as Docker parses them (distribution/reference's normalisation):
`ubuntu` is `docker.io/library/ubuntu:latest`, and a first component is a registry host only
when it looks like one (a dot, a port, or `localhost`)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from dockyard.client.errors import InvalidReference
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.names import is_valid_name, is_valid_tag

DOCKER_HUB = "docker.io"
# Where Docker Hub's API really answers; `docker.io` is only its name.
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(?::(?P<port>[0-9]+))?$")


@dataclass(frozen=True, slots=True)
class Reference:
    """`registry/repository[:tag][@digest]`; parse() fills `latest` when neither is given."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        if not text or text != text.strip():
            raise InvalidReference(f"invalid reference {text!r}")
        remainder, digest = _split_digest(text)
        registry, path = split_registry(remainder)
        tag = None
        slash = path.rfind("/")
        colon = path.rfind(":")
        if colon > slash:
            path, tag = path[:colon], path[colon + 1 :]
            if not is_valid_tag(tag):
                raise InvalidReference(f"invalid tag {tag!r} in {text!r}")
        repository = _normalise_repository(registry, path, text)
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry, repository, tag, digest)

    @property
    def reference(self) -> str:
        """What goes into `/v2/<name>/manifests/<reference>`: the digest when there is one."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or "latest"

    @property
    def name(self) -> str:
        """`registry/repository`, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> Reference:
        if not is_valid_tag(tag):
            raise InvalidReference(f"invalid tag {tag!r}")
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: Digest) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def split_registry(name: str) -> tuple[str, str]:
    """(registry, path) of a name without tag or digest, Docker's way."""
    first, slash, rest = name.partition("/")
    looks_like_host = "." in first or ":" in first or first == "localhost" or first != first.lower()
    if not slash or not looks_like_host:
        return DOCKER_HUB, name
    host = _HOST.match(first)
    if host is None:
        raise InvalidReference(f"invalid registry host {first!r}")
    port = host["port"]
    if port is not None and not (len(port) <= 5 and 0 < int(port) < 65536):
        raise InvalidReference(f"invalid port in registry host {first!r}: 1 to 65535")
    return (DOCKER_HUB if first in _HUB_ALIASES else first), rest


def api_host(registry: str) -> str:
    """The host whose /v2/ answers for `registry` (Docker Hub's differs from its name)."""
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


def is_loopback(registry: str) -> bool:
    """Docker speaks plain HTTP to these without being told: localhost and 127.0.0.0/8, ::1."""
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    if registry.startswith("["):
        host = registry[1 : registry.index("]")]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_digest(text: str) -> tuple[str, Digest | None]:
    remainder, at, digest_text = text.partition("@")
    if not at:
        return text, None
    try:
        return remainder, Digest.parse(digest_text)
    except InvalidDigest as exc:
        raise InvalidReference(f"invalid digest in {text!r}: {exc}") from None


def _normalise_repository(registry: str, path: str, text: str) -> str:
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not is_valid_name(path):
        raise InvalidReference(
            f"invalid repository name {path!r} in {text!r}: lowercase letters, digits and "
            "separators only"
        )
    return path
