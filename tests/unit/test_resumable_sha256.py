from __future__ import annotations

import hashlib

import pytest

from dockyard.oci.resumable_sha256 import ResumableSha256, available

pytestmark = pytest.mark.skipif(not available(), reason="OpenSSL SHA256 functions missing")


def test_digest_equals_hashlib() -> None:
    hasher = ResumableSha256()
    for piece in (b"", b"hello ", b"x" * 100_000, b"world"):
        hasher.update(piece)
    expected = hashlib.sha256(b"hello " + b"x" * 100_000 + b"world").hexdigest()
    assert hasher.hexdigest() == expected


def test_saved_state_resumes_to_the_same_digest() -> None:
    first = ResumableSha256()
    first.update(b"a" * 1_000_003)
    resumed = ResumableSha256(first.state())
    resumed.update(b"tail")
    assert resumed.hexdigest() == hashlib.sha256(b"a" * 1_000_003 + b"tail").hexdigest()


def test_hexdigest_does_not_end_the_hash() -> None:
    hasher = ResumableSha256()
    hasher.update(b"one")
    hasher.hexdigest()
    hasher.update(b"two")
    assert hasher.hexdigest() == hashlib.sha256(b"onetwo").hexdigest()


def test_a_state_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="112 bytes"):
        ResumableSha256(b"short")
