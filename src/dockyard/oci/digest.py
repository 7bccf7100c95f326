"""Content digests (`algorithm:hex`) as the OCI image-spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

# Registered algorithms and the exact hex length of each (image-spec descriptor.md).
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


class InvalidDigest(ValueError):
    """The text is not a digest this registry can verify."""


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST.match(text)
        if match is None:
            raise InvalidDigest(f"malformed digest {text!r}")
        algorithm, hex_part = match.groups()
        length = _HEX_LENGTH.get(algorithm)
        if length is None:
            raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
        if len(hex_part) != length or not _is_lower_hex(hex_part):
            raise InvalidDigest(f"{algorithm} digest must be {length} lowercase hex characters")
        return cls(algorithm, hex_part)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> Hasher:
        return new_hasher(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def new_hasher(algorithm: str) -> Hasher:
    if algorithm not in _HEX_LENGTH:
        raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def is_digest(reference: str) -> bool:
    """Tell a digest reference from a tag: tags never contain a colon."""
    return ":" in reference


def _is_lower_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
