"""Who a sign-in proves, and who a token's subject is: a password or a token in, an Identity
out."""

from __future__ import annotations

from sqlalchemy import Connection

from dockyard.db.engine import Database
from dockyard.index.accounts import repository as accounts
from dockyard.index.accounts.service import User, check_password
from dockyard.index.repositories.permissions import Identity
from dockyard.index.tables import as_utc
from dockyard.index.tokens.service import (
    SEPARATOR,
    check_token,
    credential_in,
    looks_like_token,
)


async def sign_in(database: Database, login: str, password: str) -> str | None:
    """The subject these credentials prove: the username for a password, `owner+name` for an
    access token or a robot; None if they prove nothing."""
    if looks_like_token(password) or SEPARATOR in login:
        credential = await check_token(database, login, password)
        if credential is not None:
            return credential.subject
        if SEPARATOR in login:
            return None
    user = await check_password(database, login, password)
    return None if user is None else user.username


async def identity_of(database: Database, subject: str | None) -> Identity | None:
    """The account (capped, for a token's subject) a subject names; None: anonymous, or an
    account or token that no longer exists or is disabled (revoked, expired: it gets what
    anonymous gets)."""
    if not subject:
        return None
    return await database.read(identity_in, subject)


def identity_in(connection: Connection, subject: str) -> Identity | None:
    """identity_of, in the caller's transaction."""
    if SEPARATOR in subject:
        credential = credential_in(connection, subject)
        if credential is None:
            return None
        return Identity(
            credential.user_id, credential.username, credential.is_admin, credential.actions
        )
    row = accounts.by_name(connection, subject)
    if row is None:
        return None
    user = User.from_row(row)
    if user.disabled:
        return None
    return Identity(user.id, user.username, user.is_admin)


def account_of(subject: str) -> str:
    """The account a subject belongs to: the owner of a token or robot (`owner+name`)."""
    return subject.partition(SEPARATOR)[0]


async def signed_in_since(database: Database, subject: str, issued_at: float | None) -> bool:
    """Whether something issued to `subject` at `issued_at` (a refresh token) still stands: the
    account (or the token) is live, was created before it, and its owner's password has not
    changed, nor was it disabled, since then."""
    identity = await identity_of(database, subject)
    if identity is None:
        return False
    if issued_at is None:
        return True
    since = await database.run(accounts.credentials_valid_since, identity.user_id)
    return since is None or issued_at >= as_utc(since).timestamp()
