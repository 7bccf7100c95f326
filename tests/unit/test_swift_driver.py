"""What the Swift driver does beyond the shared driver suite: large objects are manifests and
segments, and deleting one leaves none of its segments in the container."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dockyard.storage import create_driver
from tests.support.swift import Swift
from tests.unit.test_storage_drivers import MIB, PART, pattern, pieces, read_all, run


def container_listing(swift: Swift, prefix: str) -> list[str]:
    response = httpx.get(
        f"{swift.storage_url}/{swift.container}",
        params={"prefix": prefix},
        headers={"X-Auth-Token": swift.token},
    )
    response.raise_for_status()
    return response.text.split()


def test_deleting_large_objects_leaves_no_segments(swift: Swift, tmp_path: Path) -> None:
    prefix = f"segments/{uuid.uuid4().hex}"
    driver = create_driver(swift.storage(prefix, chunk_size=PART), tmp_path)
    data = pattern(3 * PART + 5)

    async def failing() -> AsyncIterator[bytes]:
        for _ in range(2 * PART // MIB + 1):
            yield b"x" * MIB
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        await driver.write("uploads/u/one", pieces(data))
        await driver.write("uploads/u/two", pieces(data))
        assert await read_all(driver, "uploads/u/one") == data
        with pytest.raises(ConnectionResetError):
            await driver.write("uploads/u/failed", failing())
        await driver.write("uploads/v/kept", pieces(data))
        assert container_listing(swift, f".segments/{prefix}/uploads/u/"), "no segments made"
        await driver.delete("uploads/u/failed")
        await driver.delete("uploads/u")

    run(driver, scenario())
    assert container_listing(swift, f".segments/{prefix}/uploads/u") == []
    assert container_listing(swift, f"{prefix}/") == [f"{prefix}/uploads/v/kept"]
    assert container_listing(swift, f".segments/{prefix}/uploads/v/")  # untouched
