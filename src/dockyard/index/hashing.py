"""Passwords (argon2id) and token secrets (random, kept as SHA-256)."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dockyard.config import PasswordSettings

_hasher = PasswordHasher()
TOKEN_PREFIX = "dckr_"  # what Docker Hub's tokens start with: a secret scanner can spot them
MIN_PASSWORD_LENGTH = 8


def configure(settings: PasswordSettings) -> None:
    """The cost of the hashes this process makes (`index.passwords`); verifying reads each
    hash's own."""
    global _hasher
    _hasher = PasswordHasher(settings.time_cost, settings.memory_kib, settings.parallelism)
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
