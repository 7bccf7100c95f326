"""What the S3 driver promises beyond the shared driver suite: how it lays out objects in
the store (parts S3 accepts, nothing left behind), presigned URLs, prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.config import StorageSettings
from dockyard.storage import create_driver
from dockyard.storage.s3 import S3Driver
from dockyard.storage.s3_chunks import MIN_PART, BrokenChunks, Chunk, chunk_name, plan_write
from tests.support.seaweedfs import S3Bucket
from tests.unit.test_storage_drivers import MIB, chunks, pattern, pieces, read_all, run

PART = 6 * MIB


def chunk(start: int, size: int) -> Chunk:
    return Chunk(start, size, chunk_name("k", start))


def test_a_small_last_chunk_is_carried_into_the_next_write() -> None:
    existing = [chunk(0, PART), chunk(PART, MIB)]
    plan = plan_write(existing, PART + MIB, "k")
    assert (plan.kept, plan.carried, plan.dropped) == ([existing[0]], existing[1], [])


def test_a_chunk_reaching_past_the_offset_is_carried_and_later_ones_dropped() -> None:
    existing = [chunk(0, PART), chunk(PART, PART), chunk(2 * PART, MIB)]
    plan = plan_write(existing, PART + 10, "k")
    assert (plan.kept, plan.carried, plan.dropped) == ([existing[0]], existing[1], existing[2:])


def test_a_large_enough_last_chunk_stays_as_it_is() -> None:
    existing = [chunk(0, PART), chunk(PART, MIN_PART)]
    plan = plan_write(existing, PART + MIN_PART, "k")
    assert (plan.kept, plan.carried, plan.dropped) == (existing, None, [])


def test_writing_past_the_end_is_refused() -> None:
    with pytest.raises(ValueError, match="holds 6"):
        plan_write([chunk(0, 6)], 7, "k")


def test_a_gap_between_chunks_is_reported() -> None:
    with pytest.raises(BrokenChunks, match="expected one at 6"):
        plan_write([chunk(0, 6), chunk(8, 2)], 10, "k")


@pytest.fixture
def prefix() -> str:
    return f"s3/{uuid.uuid4().hex}"


@pytest.fixture
def driver(s3_bucket: S3Bucket, prefix: str) -> Iterator[S3Driver]:
    yield S3Driver(s3_bucket.settings(prefix, part_size=PART))


def test_chunks_are_parts_s3_accepts(driver: S3Driver, s3_bucket: S3Bucket, prefix: str) -> None:
    async def scenario() -> None:
        offset = 0
        for size in [MIB, 2 * MIB, 3 * MIB, MIB // 2, 4 * MIB, 7 * MIB, MIB, 5 * MIB]:
            offset = await driver.write_at("uploads/u/data", offset, pieces(pattern(size)))

    run(driver, scenario())
    objects = s3_bucket.objects(f"{prefix}/uploads/u/data.chunks/")
    sizes = [objects[name] for name in sorted(objects)]
    assert sum(sizes) == 23 * MIB + MIB // 2
    assert all(size <= PART for size in sizes), sizes
    assert all(size >= MIN_PART for size in sizes[:-1]), sizes


def test_publish_leaves_one_plain_object_and_no_chunks(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    data = pattern(15 * MIB)

    async def scenario() -> None:
        await driver.write_at("uploads/p/data", 0, pieces(data))
        await driver.publish("uploads/p/data", "blobs/p")

    run(driver, scenario())
    assert s3_bucket.objects(prefix) == {f"{prefix}/blobs/p": len(data)}


def test_an_empty_object_is_written_and_published(
    driver: S3Driver, s3_bucket: S3Bucket, prefix: str
) -> None:
    async def scenario() -> None:
        assert await driver.write_at("uploads/e/data", 0, chunks()) == 0
        assert await driver.size("uploads/e/data") == 0
        await driver.publish("uploads/e/data", "blobs/e")
        assert await read_all(driver, "blobs/e") == b""

    run(driver, scenario())
    assert s3_bucket.objects(prefix) == {f"{prefix}/blobs/e": 0}


def test_a_published_object_published_again_is_copied(driver: S3Driver) -> None:
    async def scenario() -> None:
        await driver.write_at("tmp", 0, chunks(b"plain"))
        await driver.publish("tmp", "first")
        await driver.publish("first", "second")
        assert await read_all(driver, "second") == b"plain"
        assert await driver.size("first") is None

    run(driver, scenario())


def test_write_at_zero_replaces_a_published_object(driver: S3Driver) -> None:
    async def scenario() -> None:
        await driver.write_at("tmp", 0, chunks(b"old bytes"))
        await driver.publish("tmp", "key")
        await driver.write_at("key", 0, chunks(b"new"))
        assert await read_all(driver, "key") == b"new"

    run(driver, scenario())


def test_presigned_url_serves_the_object_and_its_ranges(driver: S3Driver) -> None:
    data = pattern(MIB, 7)

    async def scenario() -> str:
        await driver.write_at("tmp", 0, chunks(data))
        await driver.publish("tmp", "blobs/signed")
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
        await first.write_at("uploads/a/data", 0, chunks(b"a"))
        assert [key async for key in first.list("")] == ["uploads/a/data"]
        assert [key async for key in second.list("")] == []
        assert await second.size("uploads/a/data") is None
        await second.close()

    run(first, scenario())


def test_keys_holding_the_chunk_mark_are_refused(driver: S3Driver) -> None:
    with pytest.raises(ValueError, match="reserves"):
        run(driver, driver.write_at("a.chunks/1", 0, chunks(b"x")))


def test_storage_driver_s3_selects_the_s3_driver(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    settings = StorageSettings(driver="s3", s3=s3_bucket.settings("x"))
    assert isinstance(create_driver(settings, tmp_path), S3Driver)
