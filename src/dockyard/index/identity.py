"""Who a sign-in proves, and who a token's subject is: a password or a token in, an Identity
out."""

from __future__ import annotations

from dockyard.db.engine import Database
from dockyard.index.accounts import repository as accounts
from dockyard.index.accounts.service import check_password, find_user
from dockyard.index.repositories.permissions import Identity
from dockyard.index.tables import as_utc
from dockyard.index.tokens.service import (
    SEPARATOR,
    check_token,
    credential_of,
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
    if SEPARATOR in subject:
        credential = await credential_of(database, subject)
        if credential is None:
            return None
        return Identity(
            credential.user_id, credential.username, credential.is_admin, credential.actions
        )
    user = await find_user(database, subject)
    if user is None or user.disabled:
        return None
    return Identity(user.id, user.username, user.is_admin)


async def signed_in_since(database: Database, subject: str, issued_at: float | None) -> bool:
    """Whether something issued to `subject` at `issued_at` (a refresh token) still stands: the
    account (or the token) is live, and its owner's password has not changed, nor was it
    disabled, since then."""
    identity = await identity_of(database, subject)
    if identity is None:
        return False
    if issued_at is None:
        return True
    changed = await database.run(accounts.credentials_changed_at, identity.user_id)
    return changed is None or issued_at >= as_utc(changed).timestamp()
