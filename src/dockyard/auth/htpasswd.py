"""Users from an Apache htpasswd file of bcrypt entries (`htpasswd -B`), as Distribution reads it.

The file is read again whenever it changes (inode, size or mtime), so users can be added or
removed without a restart. A failed check always costs one bcrypt comparison, whether or not the
user exists, so timing does not tell which users there are.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

log = logging.getLogger("dockyard.auth")

# bcrypt reads at most 72 bytes of a password; htpasswd -B hashed only those, so compare the same.
BCRYPT_MAX_PASSWORD = 72
BCRYPT_PREFIXES = ("$2y$", "$2b$", "$2a$")
# Successful checks remembered (as keyed digests, never the password) until the file changes:
# a registry client sends Basic credentials with every request, and bcrypt costs milliseconds.
VERIFIED_ENTRIES = 1024


@dataclass(frozen=True)
class _Contents:
    version: tuple[int, int, int] | None  # (inode, size, mtime_ns); None: no readable file
    hashes: dict[str, bytes] = field(default_factory=dict)


class HtpasswdFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._contents = _Contents(version=(-1, -1, -1))
        self._lock = threading.Lock()
        self._secret = os.urandom(32)
        self._verified: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        self._decoys: dict[bytes, bytes] = {}

    def users(self) -> list[str]:
        return sorted(self._current().hashes)

    def has_user(self, user: str) -> bool:
        return user in self._current().hashes

    async def authenticate(self, user: str, password: str) -> bool:
        """True when the file has this user with this password; bcrypt runs off the event loop."""
        contents = self._current()
        if self._fingerprint(contents, user, password) in self._verified:
            return True
        return await asyncio.to_thread(self.check, user, password)

    def check(self, user: str, password: str) -> bool:
        contents = self._current()
        fingerprint = self._fingerprint(contents, user, password)
        if fingerprint in self._verified:
            return True
        hashed = contents.hashes.get(user)
        candidate = password.encode()[:BCRYPT_MAX_PASSWORD]
        if hashed is None:
            bcrypt.checkpw(candidate, self._decoy(contents))
            return False
        try:
            matches = bcrypt.checkpw(candidate, hashed)
        except ValueError:  # a corrupt hash in the file: that user cannot log in
            return False
        if matches:
            with self._lock:
                self._verified[fingerprint] = None
                while len(self._verified) > VERIFIED_ENTRIES:
                    self._verified.popitem(last=False)
        return matches

    def _fingerprint(self, contents: _Contents, user: str, password: str) -> bytes:
        # Keyed with a per-process secret and the file's version: a changed file forgets all.
        message = f"{contents.version}\0{user}\0{password}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def _decoy(self, contents: _Contents) -> bytes:
        """A hash with the cost most users' hashes have, to compare unknown users against."""
        costs = collections.Counter(_cost(hashed) for hashed in contents.hashes.values())
        cost = costs.most_common(1)[0][0] if costs else b"05"
        with self._lock:
            if cost not in self._decoys:
                self._decoys[cost] = bcrypt.hashpw(b"decoy", bcrypt.gensalt(int(cost)))
            return self._decoys[cost]

    def _current(self) -> _Contents:
        try:
            stat = self.path.stat()
            version: tuple[int, int, int] | None = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            version = None
        if version == self._contents.version:
            return self._contents
        with self._lock:
            if version != self._contents.version:
                self._contents = self._read(version)
                self._verified.clear()
            return self._contents

    def _read(self, version: tuple[int, int, int] | None) -> _Contents:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            log.warning("htpasswd file %s cannot be read (%s): no user can log in", self.path, exc)
            return _Contents(version)
        hashes: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, _, hashed = line.partition(":")
            if not hashed.startswith(BCRYPT_PREFIXES):
                # Distribution too reads bcrypt only: MD5, SHA1 and crypt entries are too weak.
                log.warning(
                    "%s line %d: %r is not a bcrypt entry, ignored", self.path, number, user
                )
                continue
            hashes[user] = hashed.encode()
        log.info("read %d users from %s", len(hashes), self.path)
        return _Contents(version, hashes)


def _cost(hashed: bytes) -> bytes:
    cost = hashed[4:6]
    return cost if cost.isdigit() and 4 <= int(cost) <= 31 else b"05"
