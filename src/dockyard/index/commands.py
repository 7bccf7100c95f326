"""`dockyard user add` and `passwd`, `dockyard org add`, `dockyard token add`: the index's
accounts from the command line, on the database the settings name (migrated first);
`dockyard index rebuild`: its catalogue from the registry's metadata."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from dockyard.config import Settings, load_settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index.accounts.lifecycle import set_password
from dockyard.index.accounts.service import User, create_user, find_user
from dockyard.index.errors import IndexProblem
from dockyard.index.organisations.service import create_organisation
from dockyard.index.tokens.service import create_token, parse_scopes


def add_commands(commands: Any) -> None:
    """Register the subcommands on the `dockyard` parser's subparsers."""
    user = _group(commands, "user", "manage the index's users")
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--admin", action="store_true", help="a site administrator")
    _common(add, _user_add)
    passwd = user.add_parser(
        "passwd",
        help="set a user's password",
        description="Set a user's password (the first administrator's printed one, or a "
        "forgotten one). It ends what the old one signed in: refresh tokens, access tokens "
        "and robots.",
    )
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    _common(passwd, _user_passwd)
    org = _group(commands, "org", "manage the index's organisations")
    add = org.add_parser("add", help="create an organisation")
    add.add_argument("name")
    add.add_argument("--owner", required=True, help="its first owner, an existing user")
    _common(add, _org_add)
    token = _group(commands, "token", "manage access tokens")
    add = token.add_parser("add", help="create a personal access token; prints it once")
    add.add_argument("user")
    add.add_argument("--name", default="cli", help="the token's name (default cli)")
    add.add_argument("--scope", default="read", help="read,write,delete (default read)")
    add.add_argument("--expires-days", type=int, help="days until it expires (default never)")
    add.add_argument("--robot", action="store_true", help="a robot account USER+NAME")
    _common(add, _token_add)
    index = _group(commands, "index", "the index's catalogue")
    rebuild = index.add_parser(
        "rebuild",
        help="write the catalogue afresh from the registry's metadata",
        description="Write the index's catalogue (repositories, their last push, tags with "
        "digest, size and platforms) afresh from this registry's metadata: for what was pushed "
        "before the catalogue existed, while index mode was off, or before a backup was "
        "restored. Repository settings are kept. Pull counts are kept as they are: the "
        "registry has no record of past pulls. Running it again changes nothing.",
    )
    _common(rebuild, _index_rebuild)


def _index_rebuild(args: argparse.Namespace) -> int:
    # Imported when run: it builds the registry's services, which no other command needs.
    from dockyard.index.catalogue.rebuild import run_rebuild

    return run_rebuild(_settings(args))


def _group(commands: Any, name: str, help_text: str) -> Any:
    parser = commands.add_parser(name, help=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True)


def _common(parser: argparse.ArgumentParser, run: Callable[..., int]) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data", type=Path, help="data directory (default ./data)")
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": args.data} if args.data else {}
    return load_settings(args.config, **overrides)


def _run(
    args: argparse.Namespace, action: Callable[[Database], Coroutine[Any, Any, str | None]]
) -> int:
    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
        output = asyncio.run(action(database))
    except IndexProblem as exc:
        print(f"dockyard: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if output:
        print(output)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        return getpass.getpass(f"password for {args.name}: ")
    except EOFError:  # no terminal, and standard input ended (closed, or /dev/null)
        print("dockyard: no password typed (or give it with --password-stdin)", file=sys.stderr)
        raise SystemExit(1) from None


def _user_add(args: argparse.Namespace) -> int:
    password = _password(args)

    async def add(database: Database) -> str | None:
        await create_user(
            database, args.name, args.email, password, args.admin, taking_repositories=True
        )
        return None

    return _run(args, add)


def _user_passwd(args: argparse.Namespace) -> int:
    password = _password(args)

    async def change(database: Database) -> str | None:
        await set_password(database, args.name, password)
        return None

    return _run(args, change)


def _org_add(args: argparse.Namespace) -> int:
    async def add(database: Database) -> str | None:
        owner = await _existing(database, args.owner)
        await create_organisation(database, args.name, owner, None, taking_repositories=True)
        return None

    return _run(args, add)


def _token_add(args: argparse.Namespace) -> int:
    async def add(database: Database) -> str:
        owner = await _existing(database, args.user)
        scopes = parse_scopes(args.scope)
        kind = "robot" if args.robot else "personal"
        return await create_token(
            database, owner, args.name, scopes, args.expires_days, kind, limits=None
        )

    return _run(args, add)


async def _existing(database: Database, username: str) -> User:
    user = await find_user(database, username)
    if user is None:
        raise IndexProblem(f"no user {username!r}")
    return user
