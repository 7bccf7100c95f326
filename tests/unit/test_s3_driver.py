"""What the S3 driver promises beyond the shared driver suite: how it lays out objects in
the store (parts S3 accepts, nothing left behind), presigned URLs, prefixes."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.config import StorageSettings
from dockyard.storage import Piece, create_driver
from dockyard.storage.s3 import S3Driver
from dockyard.storage.s3_parts import MAX_PART, MIN_PART, can_copy_parts, part_ranges
from tests.support.seaweedfs import S3Bucket
from tests.unit.test_storage_drivers import MIB, chunks, pattern, pieces, read_all, run, upload

PART = 6 * MIB
GIB = 1024 * MIB


def test_parts_are_one_a_piece_and_large_pieces_are_cut_evenly() -> None:
    large = 5 * GIB + 3
    ranges = list(part_ranges([Piece("a", PART), Piece("b", large), Piece("c", 1)]))
    assert ranges[0] == ("a", 0, PART - 1)
    assert ranges[-1] == ("c", 0, 0)
    middle = [(first, last) for key, first, last in ranges if key == "b"]
    assert len(middle) == 6 and middle[0][0] == 0 and middle[-1][1] == large - 1
    assert all(MIN_PART <= last - first + 1 <= MAX_PART for first, last in middle)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(middle))


def test_only_the_last_piece_may_be_smaller_than_an_s3_part() -> None:
    assert can_copy_parts([Piece("a", MIN_PART), Piece("b", 1)])
    assert not can_copy_parts([Piece("a", MIN_PART - 1), Piece("b", MIN_PART)])
    assert can_copy_parts([])


@pytest.fixture
def prefix() -> str:
    return f"s3/{uuid.uuid4().hex}"


@pytest.fixture
def driver(s3_bucket: S3Bucket, prefix: str) -> Iterator[S3Driver]:
    yield S3Driver(s3_bucket.settings(prefix, part_size=PART))


def test_appended_pieces_are_parts_s3_accepts(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    sizes = [MIB, 2 * MIB, 3 * MIB, MIB // 2, 4 * MIB, 7 * MIB, MIB, 5 * MIB]

    async def scenario() -> list[Piece]:
        return await upload(driver, [pieces(pattern(size)) for size in sizes])

    held = run(driver, scenario())
    assert sum(piece.size for piece in held) == sum(sizes)
    assert all(piece.size <= PART for piece in held), held
    assert can_copy_parts(held), held
    # The small pieces read back into later ones were deleted: the bucket holds just these.
    objects = s3_bucket.objects(f"{prefix}/uploads/u/")
    assert objects == {f"{prefix}/{piece.key}": piece.size for piece in held}


def test_compose_leaves_one_plain_object(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    data = pattern(15 * MIB)

    async def scenario() -> None:
        held = await upload(driver, [pieces(data)])
        assert len(held) == 3
        await driver.compose(held, "blobs/p")
        await driver.delete("uploads/u")

    run(driver, scenario())
    assert s3_bucket.objects(prefix) == {f"{prefix}/blobs/p": len(data)}


def test_a_large_write_is_one_multipart_object(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    data = pattern(3 * PART + 5)

    async def scenario() -> None:
        assert await driver.write("big", pieces(data)) == len(data)
        assert await read_all(driver, "big") == data

    run(driver, scenario())
    assert s3_bucket.objects(prefix) == {f"{prefix}/big": len(data)}


def test_a_failed_large_write_leaves_nothing(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(2 * PART // MIB + 1):
            yield b"x" * MIB
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        run(driver, driver.write("broken", failing()))
    assert s3_bucket.objects(prefix) == {}
    assert s3_bucket.multipart_uploads(prefix) == []


def test_small_pieces_made_elsewhere_are_still_composed(driver: S3Driver) -> None:
    async def scenario() -> None:
        await driver.write("a", chunks(b"small "))
        await driver.write("b", chunks(b"pieces"))
        await driver.compose([Piece("a", 6), Piece("b", 6)], "joined")
        assert await read_all(driver, "joined") == b"small pieces"

    run(driver, scenario())


def test_presigned_url_serves_the_object_and_its_ranges(driver: S3Driver) -> None:
    data = pattern(MIB, 7)

    async def scenario() -> str:
        await driver.write("blobs/signed", chunks(data))
        url = await driver.presigned_url("blobs/signed", 60)
        assert url is not None
        return url

    url = run(driver, scenario())
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url).content == data
    ranged = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert (ranged.status_code, ranged.content) == (206, data[10:20])


def test_prefixes_keep_registries_in_one_bucket_apart(s3_bucket: S3Bucket) -> None:
    first = S3Driver(s3_bucket.settings(f"apart/{uuid.uuid4().hex}"))
    second = S3Driver(s3_bucket.settings(f"apart/{uuid.uuid4().hex}"))

    async def scenario() -> None:
        await first.write("uploads/a/data", chunks(b"a"))
        assert [key async for key in first.list("")] == ["uploads/a/data"]
        assert [key async for key in second.list("")] == []
        assert await second.size("uploads/a/data") is None
        await second.close()

    run(first, scenario())


def test_storage_driver_s3_selects_the_s3_driver(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    settings = StorageSettings(driver="s3", s3=s3_bucket.settings("x"))
    assert isinstance(create_driver(settings, tmp_path), S3Driver)
