"""The one suite every storage driver passes (Distribution's testsuites, in pytest)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.storage import NotFound, StorageDriver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver
from dockyard.storage.s3 import S3Driver
from tests.support.seaweedfs import S3Bucket

MIB = 1024 * 1024
# The S3 driver's smallest part size, which its fixture uses: larger objects span parts.
PART = 5 * MIB
# Keys per listing page of the S3 fixture: listings of more keys than this page through.
PAGE = 7

T = TypeVar("T")


@pytest.fixture(params=["filesystem", "memory", "s3"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageDriver]:
    if request.param == "filesystem":
        yield FilesystemDriver(tmp_path / "root")
    elif request.param == "memory":
        yield MemoryDriver()
    else:
        # Requested here, so SeaweedFS starts only when an S3 case runs.
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        prefix = f"drivers/{uuid.uuid4().hex}"
        yield S3Driver(bucket.settings(prefix, part_size=PART), page_size=PAGE)


def run(driver: StorageDriver, scenario: Coroutine[Any, Any, T]) -> T:
    """Run a scenario in its own event loop, and close the driver's connections in it."""

    async def main() -> T:
        try:
            return await scenario
        finally:
            await driver.close()

    return asyncio.run(main())


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def pieces(data: bytes, size: int = MIB) -> AsyncIterator[bytes]:
    """data as a request body arrives: in pieces of `size`."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ everywhere, so a piece in the wrong place shows."""
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def read_all(
    driver: StorageDriver, key: str, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in driver.read(key, offset, length)])


def test_missing_key_has_no_size_and_cannot_be_read(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.size("nope") is None
        with pytest.raises(NotFound):
            await read_all(driver, "nope")

    run(driver, scenario())


def test_write_at_appends_and_reports_size(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.write_at("a/b", 0, chunks(b"hello ", b"wor")) == 9
        assert await driver.write_at("a/b", 9, chunks(b"ld")) == 11
        assert await read_all(driver, "a/b") == b"hello world"
        assert await driver.size("a/b") == 11

    run(driver, scenario())


def test_write_at_drops_bytes_past_the_offset(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("k", 0, chunks(b"0123456789"))
        assert await driver.write_at("k", 4, chunks(b"ab")) == 6
        assert await read_all(driver, "k") == b"0123ab"

    run(driver, scenario())


def test_ranged_reads(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("k", 0, chunks(bytes(range(256)) * 10))
        assert await read_all(driver, "k", 10, 5) == bytes(range(10, 15))
        assert await read_all(driver, "k", 2550) == bytes(range(246, 256))
        assert await read_all(driver, "k", 2555, 100) == bytes(range(251, 256))

    run(driver, scenario())


def test_publish_moves_whole_object(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write_at("uploads/1/data", 0, chunks(b"blob"))
        await driver.publish("uploads/1/data", "blobs/x")
        assert await read_all(driver, "blobs/x") == b"blob"
        assert await driver.size("uploads/1/data") is None

    run(driver, scenario())


def test_publish_over_an_existing_object_replaces_it(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for content in (b"first", b"second"):
            await driver.write_at("tmp", 0, chunks(content))
            await driver.publish("tmp", "final")
        assert await read_all(driver, "final") == b"second"

    run(driver, scenario())


def test_delete_removes_a_key_or_a_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("p/1", "p/2", "q/1"):
            await driver.write_at(key, 0, chunks(b"x"))
        await driver.delete("p")
        await driver.delete("never-there")
        assert sorted([key async for key in driver.list("")]) == ["q/1"]

    run(driver, scenario())


def test_list_by_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("uploads/a/data", "uploads/b/data", "blobs/c"):
            await driver.write_at(key, 0, chunks(b"x"))
        listed = sorted([key async for key in driver.list("uploads")])
        assert listed == ["uploads/a/data", "uploads/b/data"]

    run(driver, scenario())


def test_concurrent_writers_to_different_keys_do_not_mix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        async def write(key: str, byte: bytes) -> None:
            await driver.write_at(key, 0, chunks(*[byte * 1000] * 50))

        await asyncio.gather(*(write(f"w/{i}", bytes([i])) for i in range(8)))
        for i in range(8):
            assert await read_all(driver, f"w/{i}") == bytes([i]) * 50_000

    run(driver, scenario())


def test_large_object_streams_in_pieces(driver: StorageDriver) -> None:
    async def scenario() -> None:
        piece = b"z" * (1024 * 1024)
        assert await driver.write_at("big", 0, chunks(*[piece] * 5)) == 5 * len(piece)
        total = 0
        async for chunk in driver.read("big"):
            total += len(chunk)
        assert total == 5 * len(piece)

    run(driver, scenario())


def test_keys_cannot_escape_the_filesystem_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="escapes"):
        FilesystemDriver(tmp_path).local_path("../outside")


def test_missing_keys_cannot_be_read_published_or_listed(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for offset, length in ((0, None), (5, None), (0, 0), (3, 10)):
            with pytest.raises(NotFound):
                await read_all(driver, "uploads/none/data", offset, length)
        with pytest.raises(FileNotFoundError):
            await driver.publish("uploads/none/data", "blobs/none")
        assert await driver.size("blobs/none") is None
        await driver.delete("uploads/none")
        assert [key async for key in driver.list("uploads")] == []

    run(driver, scenario())


def test_large_object_spans_parts_and_publishes_whole(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(40 * MIB)
        assert await driver.write_at("uploads/big/data", 0, pieces(data)) == len(data)
        assert await driver.size("uploads/big/data") == len(data)
        assert sha(await read_all(driver, "uploads/big/data")) == sha(data)
        await driver.publish("uploads/big/data", "blobs/big")
        assert await driver.size("blobs/big") == len(data)
        assert sha(await read_all(driver, "blobs/big")) == sha(data)
        assert await driver.size("uploads/big/data") is None

    run(driver, scenario())


def test_many_small_writes_then_publish(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(23 * MIB + 123)
        sizes = [MIB + 7, 3 * MIB, 700 * 1024, 4 * MIB + 1, 2 * MIB, 123]
        offset = 0
        for number in itertools.count():
            piece = data[offset : offset + sizes[number % len(sizes)]]
            if not piece:
                break
            written = await driver.write_at("uploads/s/data", offset, pieces(piece, 256 * 1024))
            assert written == offset + len(piece)
            offset = written
        # The finishing PUT of a chunked upload has no body.
        assert await driver.write_at("uploads/s/data", offset, chunks()) == len(data)
        await driver.publish("uploads/s/data", "blobs/s")
        assert sha(await read_all(driver, "blobs/s")) == sha(data)

    run(driver, scenario())


def test_write_after_a_failed_request_drops_what_it_left(driver: StorageDriver) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"\xff" * MIB
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        first, rest = pattern(7 * MIB, 1), pattern(4 * MIB, 2)
        await driver.write_at("uploads/f/data", 0, pieces(first))
        with pytest.raises(ConnectionResetError):
            await driver.write_at("uploads/f/data", len(first), failing())
        # The session still says len(first): the retry starts there.
        written = await driver.write_at("uploads/f/data", len(first), pieces(rest))
        assert written == len(first) + len(rest)
        assert await driver.size("uploads/f/data") == written
        assert sha(await read_all(driver, "uploads/f/data")) == sha(first + rest)

    run(driver, scenario())


def test_write_at_inside_an_earlier_part_cuts_there(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data, tail = pattern(12 * MIB, 3), pattern(2 * MIB, 4)
        await driver.write_at("uploads/c/data", 0, pieces(data))
        offset = PART + 5
        assert await driver.write_at("uploads/c/data", offset, pieces(tail)) == offset + len(tail)
        await driver.publish("uploads/c/data", "blobs/c")
        assert sha(await read_all(driver, "blobs/c")) == sha(data[:offset] + tail)

    run(driver, scenario())


def test_ranges_across_parts_before_and_after_publish(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(13 * MIB, 5)
        size = len(data)
        await driver.write_at("uploads/r/data", 0, pieces(data))
        ranges = [
            (0, 10),
            (PART - 3, 6),  # across the first part boundary
            (PART - 1, PART + 2),  # across two
            (2 * PART, None),
            (size - 5, 100),  # cut at the end
            (size, None),  # nothing past the end
        ]
        for key in ("uploads/r/data", "blobs/r"):
            if key == "blobs/r":
                await driver.publish("uploads/r/data", key)
            for offset, length in ranges:
                end = size if length is None else offset + length
                assert await read_all(driver, key, offset, length) == data[offset:end], (
                    key,
                    offset,
                    length,
                )

    run(driver, scenario())


def test_listing_pages_through_more_keys_than_a_page(driver: StorageDriver) -> None:
    async def scenario() -> None:
        keys = [f"many/{number:03d}" for number in range(5 * PAGE + 3)]
        await asyncio.gather(*(driver.write_at(key, 0, chunks(b"x")) for key in keys))
        # An object in progress that spans several parts is still one key.
        await driver.write_at("many/upload", 0, pieces(pattern(11 * MIB)))
        await driver.write_at("other/1", 0, chunks(b"y"))
        assert sorted([key async for key in driver.list("many")]) == [*keys, "many/upload"]
        await driver.delete("many")
        assert [key async for key in driver.list("")] == ["other/1"]

    run(driver, scenario())


def test_concurrent_writers_of_the_same_bytes_leave_them_whole(driver: StorageDriver) -> None:
    # A client that retries a chunk while its first attempt still runs on another node.
    async def scenario() -> None:
        data = pattern(12 * MIB, 6)
        await asyncio.gather(*(driver.write_at("same", 0, pieces(data)) for _ in range(3)))
        assert await driver.size("same") == len(data)
        assert sha(await read_all(driver, "same")) == sha(data)

    run(driver, scenario())


def test_concurrent_writers_of_different_bytes_leave_one_whole(driver: StorageDriver) -> None:
    async def scenario() -> None:
        contents = [bytes([number]) * MIB for number in range(4)]
        await asyncio.gather(*(driver.write_at("one", 0, chunks(c)) for c in contents))
        assert await read_all(driver, "one") in contents

    run(driver, scenario())
