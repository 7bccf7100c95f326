"""The account lifecycle's rules below HTTP, on a real SQLite database: sign-in costs the same
for unknown users, refresh tokens end with a password change, the last site administrator
stays."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.auth.keys import load_or_generate_signing_key
from dockyard.auth.refresh import RefreshTokens
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index import hashing
from dockyard.index.accounts import lifecycle
from dockyard.index.accounts import service as accounts
from dockyard.index.accounts.service import User, create_user
from dockyard.index.errors import Conflict
from dockyard.index.identity import identity_of, sign_in, signed_in_since


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    found = Database(f"sqlite:///{tmp_path / 'index.db'}")
    upgrade(found.engine)
    yield found
    found.dispose()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification sign-in makes, by the hash it was checked against."""
    made: list[str] = []
    real = hashing.verify_password

    def counted(stored: str, password: str) -> bool:
        made.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "verify_password", counted)  # the decoy's
    monkeypatch.setattr(hashing, "verify_password", counted)  # an account's (check_remembered)
    return made


def test_an_unknown_user_costs_one_verification_against_the_decoy(
    database: Database, verifications: list[str]
) -> None:
    asyncio.run(create_user(database, "alice", "a@example.com", "alice-password"))
    assert asyncio.run(sign_in(database, "nobody", "whatever-password")) is None
    assert asyncio.run(sign_in(database, "alice", "wrong-password")) is None
    assert len(verifications) == 2
    decoy, real = verifications
    # Same algorithm and cost parameters: only the salt and the digest differ.
    assert decoy.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]


def test_a_disabled_account_signs_in_nowhere(database: Database) -> None:
    asyncio.run(create_user(database, "root", "r@example.com", "root-password", is_admin=True))
    asyncio.run(create_user(database, "bob", "b@example.com", "bob-password"))
    root = User(1, "root", "", True)
    # Signed in first: the password is remembered (decision 0029), and still the account stops.
    assert asyncio.run(sign_in(database, "bob", "bob-password")) == "bob"
    asyncio.run(lifecycle.set_disabled(database, root, "bob", True))
    assert asyncio.run(sign_in(database, "bob", "bob-password")) is None
    assert asyncio.run(identity_of(database, "bob")) is None
    asyncio.run(lifecycle.set_disabled(database, root, "bob", False))
    assert asyncio.run(sign_in(database, "bob", "bob-password")) == "bob"


def test_refresh_tokens_issued_before_a_password_change_end_within_the_same_second(
    database: Database, tmp_path: Path
) -> None:
    asyncio.run(create_user(database, "carol", "c@example.com", "carol-password"))
    tokens = RefreshTokens(load_or_generate_signing_key(tmp_path, "issuer"), "issuer", "s", 60)
    before = tokens.verify(tokens.issue("carol", "docker"))
    assert before.issued_at is not None and abs(before.issued_at - time.time()) < 5
    assert asyncio.run(signed_in_since(database, "carol", before.issued_at))
    asyncio.run(lifecycle.set_password(database, "carol", "carol-password-2"))
    assert not asyncio.run(signed_in_since(database, "carol", before.issued_at))
    after = tokens.verify(tokens.issue("carol", "docker"))
    assert asyncio.run(signed_in_since(database, "carol", after.issued_at))


def test_the_last_enabled_site_administrator_stays(database: Database) -> None:
    for name in ("root", "deputy"):
        asyncio.run(create_user(database, name, f"{name}@example.com", "long-password", True))
    root, deputy = User(1, "root", "", True), User(2, "deputy", "", True)
    with pytest.raises(Conflict):
        asyncio.run(lifecycle.set_disabled(database, root, "root", True))  # not oneself
    asyncio.run(lifecycle.set_disabled(database, root, "deputy", True))
    with pytest.raises(Conflict, match="last enabled site administrator"):
        asyncio.run(lifecycle.delete_account(database, root, "root"))
    asyncio.run(lifecycle.set_disabled(database, root, "deputy", False))
    asyncio.run(lifecycle.delete_account(database, deputy, "deputy"))
    assert asyncio.run(accounts.find_user(database, "deputy")) is None
