"""The index's state in a process: its database and settings, made once and shared."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.auth.login import Logins
from dockyard.auth.tokens import TokenVerifier
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.index import hashing
from dockyard.index.limits import AccountLimits
from dockyard.index.repositories.mirrored import MirrorNames


@dataclass
class Index:
    database_url: str
    pool_size: int
    default_visibility: str
    signup_enabled: bool
    pull_counts: bool
    limits: AccountLimits
    # Which names public mirror rules open to everyone, and what the catalogue makes public.
    mirrors: MirrorNames = field(default_factory=MirrorNames)
    _database: Database | None = field(default=None, repr=False)
    # The token service's logins: the /api's Basic sign-ins count against the same throttle.
    logins: Logins | None = field(default=None, repr=False)
    # The registry's token verifier: /v1/search reads the Bearer tokens docker sends it.
    verifier: TokenVerifier | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Index:
        hashing.configure(settings.index.passwords)
        return cls(
            settings.database_url,
            settings.database.pool_size,
            settings.index.default_visibility,
            settings.index.signup_enabled,
            settings.index.pull_counts,
            AccountLimits.of(settings),
            MirrorNames.of(settings.mirrors),
        )

    @property
    def database(self) -> Database:
        """Connected on first use: building the auth at start-up opens no connection."""
        if self._database is None:
            self._database = Database(self.database_url, self.pool_size)
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None
