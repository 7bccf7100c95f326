"""The one suite every storage driver passes (Distribution's testsuites, in pytest)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dockyard.storage import NotFound, Piece, StorageDriver, create_driver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver
from dockyard.storage.s3 import S3Driver
from tests.support.azurite import Azurite
from tests.support.seaweedfs import S3Bucket
from tests.support.stores import StoreServer
from tests.support.swift import Swift
from tests.support.tcp_proxy import tcp_proxy

MIB = 1024 * 1024
# The S3 driver's smallest part size, which its fixture uses: larger objects span parts.
PART = 5 * MIB
# Keys per listing page of the S3 fixture: listings of more keys than this page through.
PAGE = 7

T = TypeVar("T")
# The fixture of the real (or emulated) server each opendal driver runs against.
SERVER_FIXTURES = {"azure": "azurite", "gcs": "fake_gcs", "swift": "swift"}


@pytest.fixture(params=["filesystem", "memory", "s3", "s3-on-swift", *SERVER_FIXTURES])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageDriver]:
    # The servers are requested here, so each starts only when a case of its driver runs.
    prefix = f"drivers/{uuid.uuid4().hex}"
    if request.param == "filesystem":
        yield FilesystemDriver(tmp_path / "root")
    elif request.param == "memory":
        yield MemoryDriver()
    elif request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        yield S3Driver(bucket.settings(prefix, part_size=PART), page_size=PAGE)
    elif request.param == "s3-on-swift":  # the S3 driver on a second S3 server: Swift's s3api
        swift: Swift = request.getfixturevalue("swift")
        yield S3Driver(swift.s3_settings(prefix, part_size=PART), page_size=PAGE)
    else:
        server: StoreServer = request.getfixturevalue(SERVER_FIXTURES[request.param])
        yield create_driver(server.storage(prefix, chunk_size=PART), tmp_path)


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


async def upload(
    driver: StorageDriver, bodies: list[AsyncIterator[bytes]], directory: str = "uploads/u"
) -> list[Piece]:
    """What an upload session does with each request: append its body as new pieces."""
    held: list[Piece] = []
    for number, body in enumerate(bodies):
        answer = await driver.append(held, f"{directory}/{number}", body)
        for left_out in held[_kept(held, answer) :]:
            await driver.delete(left_out.key)
        held = answer
    return held


def _kept(old: list[Piece], new: list[Piece]) -> int:
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))


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


def test_write_stores_an_object_and_reports_its_size(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.write("a/b", chunks(b"hello ", b"wor", b"ld")) == 11
        assert await read_all(driver, "a/b") == b"hello world"
        assert await driver.size("a/b") == 11

    run(driver, scenario())


def test_write_replaces_an_object(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write("k", chunks(b"0123456789"))
        assert await driver.write("k", chunks(b"ab")) == 2
        assert await read_all(driver, "k") == b"ab"

    run(driver, scenario())


def test_an_empty_object_is_an_object(driver: StorageDriver) -> None:
    async def scenario() -> None:
        assert await driver.write("e", chunks()) == 0
        assert await driver.size("e") == 0
        assert await read_all(driver, "e") == b""

    run(driver, scenario())


def test_ranged_reads(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.write("k", chunks(bytes(range(256)) * 10))
        assert await read_all(driver, "k", 10, 5) == bytes(range(10, 15))
        assert await read_all(driver, "k", 2550) == bytes(range(246, 256))
        assert await read_all(driver, "k", 2555, 100) == bytes(range(251, 256))

    run(driver, scenario())


def test_append_without_bytes_changes_nothing(driver: StorageDriver) -> None:
    async def scenario() -> None:
        held = await upload(driver, [chunks(b"abc")])
        assert await driver.append(held, "uploads/u/again", chunks()) == held
        assert await driver.append(held, "uploads/u/again", chunks(b"")) == held
        assert [key async for key in driver.list("uploads/u/again")] == []

    run(driver, scenario())


def test_append_never_changes_the_pieces_it_is_given(driver: StorageDriver) -> None:
    # Two requests that both start from the same pieces: whichever is recorded, the other
    # one's bytes are nowhere in it.
    async def scenario() -> None:
        held = await upload(driver, [chunks(b"x" * 1000)])
        before = [await read_all(driver, piece.key) for piece in held]
        winner = await driver.append(held, "uploads/u/w", chunks(b"good"))
        await driver.append(held, "uploads/u/l", chunks(b"E" * (3 * MIB)))
        assert [await read_all(driver, piece.key) for piece in held] == before
        await driver.compose(winner, "blobs/w")
        assert await read_all(driver, "blobs/w") == b"x" * 1000 + b"good"

    run(driver, scenario())


def test_compose_joins_pieces_in_order(driver: StorageDriver) -> None:
    async def scenario() -> None:
        held = await upload(driver, [chunks(b"blob, "), chunks(b"in two")])
        assert sum(piece.size for piece in held) == 12
        await driver.compose(held, "blobs/x")
        assert await read_all(driver, "blobs/x") == b"blob, in two"

    run(driver, scenario())


def test_compose_of_no_pieces_is_an_empty_object(driver: StorageDriver) -> None:
    async def scenario() -> None:
        await driver.compose([], "blobs/empty")
        assert await driver.size("blobs/empty") == 0

    run(driver, scenario())


def test_compose_over_an_existing_object_replaces_it(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for number, content in enumerate((b"first", b"second")):
            held = await upload(driver, [chunks(content)], f"uploads/{number}")
            await driver.compose(held, "final")
        assert await read_all(driver, "final") == b"second"

    run(driver, scenario())


def test_delete_removes_a_key_or_a_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("p/1", "p/2", "q/1"):
            await driver.write(key, chunks(b"x"))
        await driver.delete("p")
        await driver.delete("never-there")
        assert sorted([key async for key in driver.list("")]) == ["q/1"]

    run(driver, scenario())


def test_list_by_prefix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for key in ("uploads/a/data", "uploads/b/data", "blobs/c"):
            await driver.write(key, chunks(b"x"))
        listed = sorted([key async for key in driver.list("uploads")])
        assert listed == ["uploads/a/data", "uploads/b/data"]

    run(driver, scenario())


def test_list_info_gives_each_object_its_size_and_modification_time(
    driver: StorageDriver,
) -> None:
    async def scenario() -> None:
        before = datetime.now(UTC) - timedelta(minutes=5)  # stores' clocks may differ a little
        await driver.write("blobs/a", chunks(b"12345"))
        await driver.write("blobs/b/c", chunks(b""))
        await driver.write("other", chunks(b"x"))
        listed = {info.key: info async for info in driver.list_info("blobs")}
        assert {key: info.size for key, info in listed.items()} == {"blobs/a": 5, "blobs/b/c": 0}
        for info in listed.values():
            assert before < info.modified < datetime.now(UTC) + timedelta(minutes=5)

    run(driver, scenario())


def test_delete_many_removes_exactly_the_keys_given(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for number in range(12):
            await driver.write(f"blobs/{number:02d}", chunks(b"x"))
        await driver.delete_many([f"blobs/{number:02d}" for number in range(0, 12, 2)])
        await driver.delete_many(["blobs/never-there"])
        remaining = sorted([key async for key in driver.list("blobs")])
        assert remaining == [f"blobs/{number:02d}" for number in range(1, 12, 2)]
        assert await driver.abort_incomplete_writes(timedelta(days=1)) == 0

    run(driver, scenario())


def test_concurrent_writers_to_different_keys_do_not_mix(driver: StorageDriver) -> None:
    async def scenario() -> None:
        async def write(key: str, byte: bytes) -> None:
            await driver.write(key, chunks(*[byte * 1000] * 50))

        await asyncio.gather(*(write(f"w/{i}", bytes([i])) for i in range(8)))
        for i in range(8):
            assert await read_all(driver, f"w/{i}") == bytes([i]) * 50_000

    run(driver, scenario())


def test_keys_cannot_escape_the_filesystem_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="escapes"):
        FilesystemDriver(tmp_path).local_path("../outside")


def test_missing_keys_cannot_be_read_composed_or_listed(driver: StorageDriver) -> None:
    async def scenario() -> None:
        for offset, length in ((0, None), (5, None), (0, 0), (3, 10)):
            with pytest.raises(NotFound):
                await read_all(driver, "uploads/none/data", offset, length)
        for pieces_ in ([Piece("uploads/none/data", 4)], [Piece("uploads/none/data", 6 * MIB)] * 2):
            with pytest.raises(NotFound):
                await driver.compose(pieces_, "blobs/none")
        assert await driver.size("blobs/none") is None
        await driver.delete("uploads/none")
        assert [key async for key in driver.list("uploads")] == []

    run(driver, scenario())


def test_large_object_spans_parts_and_composes_whole(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(40 * MIB)
        assert await driver.write("big", pieces(data)) == len(data)
        assert await driver.size("big") == len(data)
        assert sha(await read_all(driver, "big")) == sha(data)
        held = await upload(driver, [pieces(data)])
        await driver.compose(held, "blobs/big")
        assert await driver.size("blobs/big") == len(data)
        assert sha(await read_all(driver, "blobs/big")) == sha(data)

    run(driver, scenario())


def test_many_small_requests_then_compose(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(23 * MIB + 123)
        sizes = [MIB + 7, 3 * MIB, 700 * 1024, 4 * MIB + 1, 2 * MIB, 123]
        bodies, offset = [], 0
        for number in itertools.count():
            piece = data[offset : offset + sizes[number % len(sizes)]]
            if not piece:
                break
            bodies.append(pieces(piece, 256 * 1024))
            offset += len(piece)
        bodies.append(chunks())  # the finishing PUT of a chunked upload has no body
        held = await upload(driver, bodies)
        assert sum(piece.size for piece in held) == len(data)
        await driver.compose(held, "blobs/s")
        assert sha(await read_all(driver, "blobs/s")) == sha(data)

    run(driver, scenario())


def test_a_failed_request_leaves_the_pieces_before_it_whole(driver: StorageDriver) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"\xff" * MIB
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        first, rest = pattern(7 * MIB + 3, 1), pattern(4 * MIB, 2)
        held = await upload(driver, [pieces(first)])
        with pytest.raises(ConnectionResetError):
            await driver.append(held, "uploads/u/failed", failing())
        await driver.delete("uploads/u/failed")
        # The session still holds `held`: the retry starts from there.
        answer = await driver.append(held, "uploads/u/retry", pieces(rest))
        await driver.compose(answer, "blobs/f")
        assert sha(await read_all(driver, "blobs/f")) == sha(first + rest)

    run(driver, scenario())


def test_ranges_across_parts(driver: StorageDriver) -> None:
    async def scenario() -> None:
        data = pattern(13 * MIB, 5)
        size = len(data)
        held = await upload(driver, [pieces(data[: 3 * MIB]), pieces(data[3 * MIB :])])
        await driver.compose(held, "blobs/r")
        ranges = [
            (0, 10),
            (PART - 3, 6),  # across the first part boundary
            (PART - 1, PART + 2),  # across two
            (2 * PART, None),
            (size - 5, 100),  # cut at the end
            (size, None),  # nothing past the end
        ]
        for offset, length in ranges:
            end = size if length is None else offset + length
            assert await read_all(driver, "blobs/r", offset, length) == data[offset:end], (
                offset,
                length,
            )

    run(driver, scenario())


def test_listing_pages_through_more_keys_than_a_page(driver: StorageDriver) -> None:
    async def scenario() -> None:
        keys = [f"many/{number:03d}" for number in range(5 * PAGE + 3)]
        await asyncio.gather(*(driver.write(key, chunks(b"x")) for key in keys))
        await driver.write("other/1", chunks(b"y"))
        assert sorted([key async for key in driver.list("many")]) == keys
        await driver.delete("many")
        assert [key async for key in driver.list("")] == ["other/1"]

    run(driver, scenario())


def test_concurrent_writers_of_the_same_bytes_leave_them_whole(driver: StorageDriver) -> None:
    # Azure keeps one list of uncommitted blocks per blob: there, the writers that commit after
    # another one fail, and the registry never has two writers on one key (pieces are named
    # per request, compose of several pieces writes under a name of its own and copies).
    async def scenario() -> None:
        data = pattern(12 * MIB, 6)
        results = await asyncio.gather(
            *(driver.write("same", pieces(data)) for _ in range(3)), return_exceptions=True
        )
        assert len(data) in results, results
        assert await driver.size("same") == len(data)
        assert sha(await read_all(driver, "same")) == sha(data)

    run(driver, scenario())


def test_concurrent_writers_of_different_bytes_leave_one_whole(driver: StorageDriver) -> None:
    async def scenario() -> None:
        contents = [bytes([number]) * (PART + MIB) for number in range(4)]
        results = await asyncio.gather(
            *(driver.write("one", chunks(c)) for c in contents), return_exceptions=True
        )
        assert PART + MIB in results, results
        assert await read_all(driver, "one") in contents

    run(driver, scenario())


def test_a_failed_write_leaves_no_object(driver: StorageDriver) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(2 * PART // MIB + 1):
            yield b"x" * MIB
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        with pytest.raises(ConnectionResetError):
            await driver.write("broken", failing())
        assert await driver.size("broken") is None
        assert [key async for key in driver.list("")] == []

    run(driver, scenario())


def test_an_opendal_store_away_for_a_moment_is_tried_again(
    azurite: Azurite, tmp_path: Path
) -> None:
    """Azure's, GCS's and Swift's drivers try a request that failed for a moment again, as the
    S3 driver does: the store refuses connections for 50 ms, and the write still succeeds."""
    target = azurite.endpoint.removeprefix("http://").split("/")[0]
    with tcp_proxy(target) as proxy:
        settings = azurite.storage(f"drivers/{uuid.uuid4().hex}", chunk_size=PART)
        assert settings.azure is not None
        endpoint = azurite.endpoint.replace(target, proxy.host)
        settings.azure = settings.azure.model_copy(update={"endpoint": endpoint})
        driver = create_driver(settings, tmp_path)

        async def scenario() -> int | None:
            proxy.cut()
            asyncio.get_running_loop().call_later(0.05, proxy.restore)
            await driver.write("hiccup", chunks(b"x"))
            return await driver.size("hiccup")

        assert run(driver, scenario()) == 1
