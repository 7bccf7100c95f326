"""What the tests need of a store server that a driver reaches through opendal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from dockyard.config import StorageSettings
from dockyard.storage import create_driver


class StoreServer(Protocol):
    def storage(self, prefix: str, chunk_size: int) -> StorageSettings:
        """The storage section of a registry that keeps its objects under prefix."""
        ...


def environment(settings: StorageSettings) -> dict[str, str]:
    """`dockyard serve`'s environment for these storage settings (secrets included)."""
    section = getattr(settings, settings.driver)
    values = section.model_dump(mode="json", exclude_defaults=True)
    prefix = f"DOCKYARD_STORAGE__{settings.driver.upper()}__"
    return {
        "DOCKYARD_STORAGE__DRIVER": settings.driver,
        **{prefix + key.upper(): _text(value) for key, value in values.items()},
    }


def stored_keys(settings: StorageSettings, prefix: str, root: Path) -> list[str]:
    """The keys a registry with these settings holds under prefix, read through its driver."""
    driver = create_driver(settings, root)

    async def listing() -> list[str]:
        try:
            return [key async for key in driver.list(prefix)]
        finally:
            await driver.close()

    return asyncio.run(listing())


def delete_stored(settings: StorageSettings, key: str, root: Path) -> None:
    """Remove the object at key from the store, as if the store had lost it."""
    driver = create_driver(settings, root)

    async def deleting() -> None:
        try:
            await driver.delete(key)
        finally:
            await driver.close()

    asyncio.run(deleting())


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
