"""Digests and references as URLs carry them, refused with the spec's error when malformed."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.oci.digest import Digest, InvalidDigest, is_digest
from dockyard.oci.names import is_valid_tag
from dockyard.registry.errors import ErrorCode, RegistryError


def parse_digest(text: str | None) -> Digest:
    if not text:
        raise RegistryError(ErrorCode.DIGEST_INVALID, "a digest is required")
    try:
        return Digest.parse(text)
    except InvalidDigest as exc:
        raise RegistryError(ErrorCode.DIGEST_INVALID, str(exc)) from None


@dataclass(frozen=True, slots=True)
class Reference:
    """A manifest reference from a URL: exactly one of tag and digest is set."""

    tag: str | None
    digest: Digest | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        if is_digest(text):
            return cls(None, parse_digest(text))
        if not is_valid_tag(text):
            raise RegistryError(ErrorCode.MANIFEST_INVALID, f"invalid tag {text!r}")
        return cls(text, None)
