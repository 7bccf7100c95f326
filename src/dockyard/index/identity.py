"""Who a sign-in proves, and who a token's subject is: a password or a token in, an Identity
out."""

from __future__ import annotations

from dockyard.db.engine import Database
from dockyard.index.accounts.service import check_password, find_user
from dockyard.index.repositories.permissions import Identity
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
    account or token that no longer exists (revoked, expired: it gets what anonymous gets)."""
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
    return None if user is None else Identity(user.id, user.username, user.is_admin)
