"""The client's download writer (client/blobs.py): pieces hashed and written in a worker
thread, in groups, in order, whatever their sizes; a pull's whole-blob behaviour is tested
against real registries in tests/api/test_client.py and tests/e2e/test_client_cli*.py."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

from dockyard.client.blobs import GROUP, IOV_MAX, _HashingWriter


def _write_all(path: Path, pieces: list[bytes]) -> str:
    hasher = hashlib.sha256()

    async def run() -> None:
        with path.open("ab") as output:
            writer = _HashingWriter(output.fileno(), hasher)
            for piece in pieces:
                await writer.add(piece)
            await writer.finish()

    asyncio.run(run())
    return hasher.hexdigest()


def test_pieces_of_every_size_arrive_whole_and_in_order(tmp_path: Path) -> None:
    chance = random.Random(7)
    pieces = [os.urandom(chance.choice([1, 100, 4096, 65536, 1 << 20])) for _ in range(200)]
    data = b"".join(pieces)
    assert len(data) > 2 * GROUP  # several groups, the last one partial
    path = tmp_path / "blob"
    assert _write_all(path, pieces) == hashlib.sha256(data).hexdigest()
    assert path.read_bytes() == data


def test_more_pieces_in_a_group_than_one_writev_takes(tmp_path: Path) -> None:
    pieces = [os.urandom(64) for _ in range(3 * IOV_MAX)]  # one group of 3,072 buffers
    path = tmp_path / "blob"
    digest = _write_all(path, pieces)
    assert path.read_bytes() == b"".join(pieces)
    assert digest == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_resumed_file_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"head-")
    _write_all(path, [b"tail"])
    assert path.read_bytes() == b"head-tail"
