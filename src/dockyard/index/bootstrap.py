"""The first site administrator, made on the first start of an index without users."""

from __future__ import annotations

import asyncio
import os
import sys

from dockyard.config import ConfigError, Settings
from dockyard.db.engine import Database
from dockyard.index.accounts.service import create_user, user_count
from dockyard.index.errors import Conflict, IndexProblem
from dockyard.index.hashing import generate_password

ADMIN = "admin"
PASSWORD_VARIABLE = "DOCKYARD_ADMIN_PASSWORD"


def ensure_admin(settings: Settings) -> None:
    """Create `admin` when the index has no users: with DOCKYARD_ADMIN_PASSWORD, or a generated
    password printed once on stderr."""
    asyncio.run(_ensure_admin(settings))


async def _ensure_admin(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        if await user_count(database) > 0:
            return
        given = os.environ.get(PASSWORD_VARIABLE)
        password = given or generate_password()
        try:
            # Over repositories an earlier registry kept under `admin/`, if any: theirs.
            await create_user(
                database, ADMIN, "admin@localhost", password, True, taking_repositories=True
            )
        except Conflict:
            return  # another node starting on the same database made it first
        except IndexProblem as exc:
            raise ConfigError(f"{PASSWORD_VARIABLE}: {exc.message}") from None
        if not given:
            print(
                f"dockyard: created the site administrator {ADMIN!r} with password {password}"
                " (shown only this once; change it with `dockyard user passwd admin` or"
                " PUT /api/user/password, or set DOCKYARD_ADMIN_PASSWORD on a new installation)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        database.dispose()
