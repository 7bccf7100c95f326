"""Passwords (argon2id) and token secrets (random, kept as SHA-256)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dockyard.config import PasswordSettings

_hasher = PasswordHasher()
# Passwords remembered as verified at once, at most (the oldest are forgotten first).
MAX_REMEMBERED = 10_000
TOKEN_PREFIX = "dckr_"  # what Docker Hub's tokens start with: a secret scanner can spot them
MIN_PASSWORD_LENGTH = 8


def configure(settings: PasswordSettings) -> None:
    """The cost of the hashes this process makes (`index.passwords`); verifying reads each
    hash's own."""
    global _hasher, _remembered
    _hasher = PasswordHasher(settings.time_cost, settings.memory_kib, settings.parallelism)
    _remembered = RememberedPasswords(settings.remember_seconds)
    decoy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def decoy_hash() -> str:
    """A hash of no one's password, at the hasher's own cost: signing in as an unknown user
    verifies against it, so a refusal takes as long whether the account exists or not."""
    return _hasher.hash(secrets.token_urlsafe(18))


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    """A 256-bit random secret needs no slow hash: SHA-256 cannot be searched backwards."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(18)


class RememberedPasswords:
    """Passwords this process verified in the last `seconds`, so that signing in again with
    the same one costs no argon2 (docs/decisions/0029-remembered-sign-ins.md). Each is kept as
    an HMAC-SHA-256 of the stored hash and the password, under a key made when the process
    starts and kept nowhere else: a digest tells nothing without the key, and one made with an
    account's old hash never matches after its password changes."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._key = secrets.token_bytes(32)
        self._until: OrderedDict[bytes, float] = OrderedDict()  # digest → when it is forgotten

    def knows(self, stored: str, password: str) -> bool:
        until = self._until.get(self._digest(stored, password))
        return until is not None and until > time.monotonic()

    def add(self, stored: str, password: str) -> None:
        if self._seconds <= 0:
            return
        digest = self._digest(stored, password)
        self._until.pop(digest, None)
        self._until[digest] = time.monotonic() + self._seconds
        while len(self._until) > MAX_REMEMBERED:
            self._until.popitem(last=False)

    def _digest(self, stored: str, password: str) -> bytes:
        message = stored.encode() + b"\0" + password.encode("utf-8", "surrogatepass")
        return hmac.digest(self._key, message, "sha256")


_remembered = RememberedPasswords(PasswordSettings().remember_seconds)


async def check_remembered(stored: str, password: str) -> bool:
    """`password` is the one `stored` hashes: remembered from a recent check, or verified
    (argon2, off the event loop) and then remembered."""
    if _remembered.knows(stored, password):
        return True
    if not await asyncio.to_thread(verify_password, stored, password):
        return False
    _remembered.add(stored, password)
    return True
