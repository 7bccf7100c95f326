"""The one suite every storage driver passes (Distribution's testsuites, in pytest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dockyard.storage import NotFound, StorageDriver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver


@pytest.fixture(params=["filesystem", "memory"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageDriver]:
    if request.param == "filesystem":
        yield FilesystemDriver(tmp_path / "root")
    else:
        yield MemoryDriver()


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(
    driver: StorageDriver, key: str, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in driver.read(key, offset, length)])


def test_missing_key_has_no_size_and_cannot_be_read(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.size("nope") is None
        with pytest.raises(NotFound):
            await read_all(driver, "nope")

    asyncio.run(scenario())


def test_write_at_appends_and_reports_size(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.write_at("a/b", 0, chunks(b"hello ", b"wor")) == 9
        assert await driver.write_at("a/b", 9, chunks(b"ld")) == 11
        assert await read_all(driver, "a/b") == b"hello world"
        assert await driver.size("a/b") == 11

    asyncio.run(scenario())


def test_write_at_drops_bytes_past_the_offset(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("k", 0, chunks(b"0123456789"))
        assert await driver.write_at("k", 4, chunks(b"ab")) == 6
        assert await read_all(driver, "k") == b"0123ab"

    asyncio.run(scenario())


def test_ranged_reads(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("k", 0, chunks(bytes(range(256)) * 10))
        assert await read_all(driver, "k", 10, 5) == bytes(range(10, 15))
        assert await read_all(driver, "k", 2550) == bytes(range(246, 256))
        assert await read_all(driver, "k", 2555, 100) == bytes(range(251, 256))

    asyncio.run(scenario())


def test_publish_moves_whole_object(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("uploads/1/data", 0, chunks(b"blob"))
        await driver.publish("uploads/1/data", "blobs/x")
        assert await read_all(driver, "blobs/x") == b"blob"
        assert await driver.size("uploads/1/data") is None

    asyncio.run(scenario())


def test_publish_over_an_existing_object_replaces_it(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for content in (b"first", b"second"):
            await driver.write_at("tmp", 0, chunks(content))
            await driver.publish("tmp", "final")
        assert await read_all(driver, "final") == b"second"

    asyncio.run(scenario())


def test_delete_removes_a_key_or_a_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("p/1", "p/2", "q/1"):
            await driver.write_at(key, 0, chunks(b"x"))
        await driver.delete("p")
        await driver.delete("never-there")
        assert sorted([key async for key in driver.list("")]) == ["q/1"]

    asyncio.run(scenario())


def test_list_by_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("uploads/a/data", "uploads/b/data", "blobs/c"):
            await driver.write_at(key, 0, chunks(b"x"))
        listed = sorted([key async for key in driver.list("uploads")])
        assert listed == ["uploads/a/data", "uploads/b/data"]

    asyncio.run(scenario())


def test_concurrent_writers_to_different_keys_do_not_mix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        async def write(key: str, byte: bytes) -> None:
            await driver.write_at(key, 0, chunks(*[byte * 1000] * 50))

        await asyncio.gather(*(write(f"w/{i}", bytes([i])) for i in range(8)))
        for i in range(8):
            assert await read_all(driver, f"w/{i}") == bytes([i]) * 50_000

    asyncio.run(scenario())


def test_large_object_streams_in_pieces(driver: StorageDriver) -> None:
    async def scenario() -> None:
        piece = b"z" * (1024 * 1024)
        assert await driver.write_at("big", 0, chunks(*[piece] * 5)) == 5 * len(piece)
        total = 0
        async for chunk in driver.read("big"):
            total += len(chunk)
        assert total == 5 * len(piece)

    asyncio.run(scenario())


def test_keys_cannot_escape_the_filesystem_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="escapes"):
        FilesystemDriver(tmp_path).local_path("../outside")
