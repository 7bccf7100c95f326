from __future__ import annotations

import hashlib

import pytest

from dockyard.oci.digest import Digest, InvalidDigest, is_digest


def test_sha256_digest_parses_and_prints_back() -> None:
    text = "sha256:" + "a" * 64
    assert str(Digest.parse(text)) == text


def test_sha512_digest_is_supported() -> None:
    data = b"hello"
    digest = Digest.of(data, "sha512")
    assert digest.hex == hashlib.sha512(data).hexdigest()
    assert Digest.parse(str(digest)) == digest


@pytest.mark.parametrize(
    "text",
    [
        "sha256:abc",  # too short
        "sha256:" + "A" * 64,  # uppercase hex
        "sha256:" + "g" * 64,  # not hex
        "md5:" + "a" * 32,  # unknown algorithm
        "sha256" + "a" * 64,  # no colon
        ":" + "a" * 64,
        "",
    ],
)
def test_malformed_digests_are_refused(text: str) -> None:
    with pytest.raises(InvalidDigest):
        Digest.parse(text)


def test_tags_are_told_from_digests() -> None:
    assert is_digest("sha256:" + "a" * 64)
    assert not is_digest("latest")
