"""index.passwords.remember_seconds: a password verified lately is known again without argon2,
only for the hash it was verified against, only for that long, and only so many at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from dockyard.index import hashing
from dockyard.index.hashing import RememberedPasswords


@pytest.fixture(scope="module")
def stored() -> str:
    return hashing.hash_password("the password")


def test_a_verified_password_is_remembered_and_a_wrong_one_never(stored: str) -> None:
    remembered = RememberedPasswords(60)
    assert not remembered.knows(stored, "the password")
    remembered.add(stored, "the password")
    assert remembered.knows(stored, "the password")
    assert not remembered.knows(stored, "the passwort")
    # Another hash of the same password (the account's password set again): not known.
    assert not remembered.knows(hashing.hash_password("the password"), "the password")


def test_a_remembered_password_is_forgotten_after_its_time(stored: str) -> None:
    remembered = RememberedPasswords(0.05)
    remembered.add(stored, "the password")
    time.sleep(0.1)
    assert not remembered.knows(stored, "the password")


def test_zero_seconds_remembers_nothing(stored: str) -> None:
    remembered = RememberedPasswords(0)
    remembered.add(stored, "the password")
    assert not remembered.knows(stored, "the password")


def test_the_oldest_are_forgotten_beyond_the_bound(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "MAX_REMEMBERED", 3)
    remembered = RememberedPasswords(60)
    for number in range(5):
        remembered.add(stored, f"password {number}")
    known = [remembered.knows(stored, f"password {number}") for number in range(5)]
    assert known == [False, False, True, True, True]


def test_what_is_kept_is_a_keyed_digest_not_the_password(stored: str) -> None:
    remembered = RememberedPasswords(60)
    remembered.add(stored, "the password")
    kept = b"".join(remembered._until)  # what the process holds
    assert b"the password" not in kept and len(kept) == 32
    # Another process (another key) does not know it.
    assert not RememberedPasswords(60).knows(stored, "the password")


def test_check_remembered_verifies_once_then_remembers(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    remembered = RememberedPasswords(60)
    monkeypatch.setattr(hashing, "_remembered", remembered)
    assert not asyncio.run(hashing.check_remembered(stored, "wrong password"))
    assert asyncio.run(hashing.check_remembered(stored, "the password"))
    assert remembered.knows(stored, "the password")
    assert not remembered.knows(stored, "wrong password")
