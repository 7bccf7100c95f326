"""index.passwords: the argon2id cost of new password hashes, RFC 9106's by default, never
below OWASP's minimum; hashes made at another cost still verify."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from dockyard.config import PasswordSettings, Settings
from dockyard.index import hashing
from dockyard.index.hub import Index


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    yield
    hashing.configure(PasswordSettings())


def test_the_default_cost_is_rfc_9106s_second_option() -> None:
    hashing.configure(PasswordSettings())
    assert hashing.hash_password("a password").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_configured_cost_makes_new_hashes_and_old_ones_still_verify() -> None:
    old = hashing.hash_password("a password")
    settings = Settings.model_validate(
        {"index": {"passwords": {"time_cost": 2, "memory_kib": 19456, "parallelism": 1}}}
    )
    Index.from_settings(settings)
    new = hashing.hash_password("a password")
    assert new.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hashing.verify_password(old, "a password")
    assert hashing.verify_password(new, "a password")
    assert not hashing.verify_password(new, "another one")
    # The decoy an unknown name is checked against costs what a real account's does.
    assert hashing.decoy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    "cost",
    [
        {"time_cost": 1, "memory_kib": 19456},
        {"time_cost": 2, "memory_kib": 8192},
        {"memory_kib": 4096},
        {"parallelism": 0},
    ],
)
def test_a_cost_below_owasps_minimum_is_refused(cost: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        PasswordSettings.model_validate(cost)
