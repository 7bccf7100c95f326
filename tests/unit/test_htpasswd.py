from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import bcrypt
import pytest

from dockyard.auth.htpasswd import HtpasswdFile


def entry(user: str, password: str, cost: int = 4) -> str:
    # $2y$ as `htpasswd -B` writes it.
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
    return f"{user}:{hashed.replace('$2b$', '$2y$', 1)}\n"


def rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    # Coarse file systems may keep the mtime within one tick: move it on explicitly.
    later = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(later, later))


@pytest.fixture
def users(tmp_path: Path) -> HtpasswdFile:
    path = tmp_path / "htpasswd"
    path.write_text(entry("alice", "wonderland") + entry("bob", "builder"))
    return HtpasswdFile(path)


def test_right_password_passes_wrong_one_fails(users: HtpasswdFile) -> None:
    assert users.check("alice", "wonderland")
    assert users.check("alice", "wonderland")  # the remembered success
    assert not users.check("alice", "Wonderland")
    assert not users.check("bob", "wonderland")
    assert not users.check("carol", "wonderland")
    assert not users.check("alice", "")


def test_async_check_agrees(users: HtpasswdFile) -> None:
    assert asyncio.run(users.authenticate("bob", "builder"))
    assert not asyncio.run(users.authenticate("bob", "nope"))


def test_changed_file_is_read_again(users: HtpasswdFile) -> None:
    assert users.check("alice", "wonderland")
    rewrite(users.path, entry("carol", "singer"))
    assert users.check("carol", "singer")
    # A removed user's remembered success is forgotten with the old file.
    assert not users.check("alice", "wonderland")


def test_missing_file_lets_nobody_in_until_it_is_back(users: HtpasswdFile) -> None:
    text = users.path.read_text()
    users.path.unlink()
    assert not users.check("alice", "wonderland")
    rewrite(users.path, text)
    assert users.check("alice", "wonderland")


def test_non_bcrypt_entries_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    path.write_text(
        "# comment\n\n"
        "md5:$apr1$Pj8Ib3rE$Hb7ZJE7vhgWmTHSM1TJLC/\n"
        "sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n"
        "plain:secret\n" + entry("ok", "pass")
    )
    users = HtpasswdFile(path)
    assert users.users() == ["ok"]
    assert not users.check("plain", "secret")
    assert users.check("ok", "pass")


def test_unknown_user_costs_a_bcrypt_comparison_too(
    users: HtpasswdFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure path for a user who does not exist must take as long as for one who does:
    one bcrypt comparison, against a hash of the cost the file's hashes have. Counted, not
    timed: on a busy machine one slow spell made a known user's median five times an
    unknown one's."""
    compared: list[bytes] = []
    checkpw = bcrypt.checkpw

    def counted(password: bytes, hashed: bytes) -> bool:
        compared.append(hashed)
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    assert not users.check("alice", "wrong")
    assert not users.check("nobody", "wrong")
    assert not users.check("nobody", "wrong again")
    assert [hashed.split(b"$")[2] for hashed in compared] == [b"04", b"04", b"04"]
    assert compared[1] == compared[2] != compared[0]  # the decoy, made once


def test_only_the_first_72_bytes_count_as_htpasswd_hashed_them(tmp_path: Path) -> None:
    long = "p" * 80
    path = tmp_path / "htpasswd"
    hashed = bcrypt.hashpw(long[:72].encode(), bcrypt.gensalt(4)).decode()
    path.write_text(f"long:{hashed}\n")
    users = HtpasswdFile(path)
    assert users.check("long", long)
    assert users.check("long", long[:72])
