"""Drivers by name, as the configuration's `storage.driver` names them."""

from __future__ import annotations

from pathlib import Path

from dockyard.config import StorageSettings
from dockyard.storage.base import StorageDriver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver


def create_driver(settings: StorageSettings, root: Path) -> StorageDriver:
    """The configured driver; `root` is the filesystem driver's resolved directory."""
    if settings.driver == "filesystem":
        return FilesystemDriver(root)
    if settings.driver == "memory":
        return MemoryDriver()
    if settings.driver == "s3":
        # Imported here: aiobotocore is slow to import and only S3 setups need it.
        from dockyard.storage.s3 import S3Driver

        return S3Driver(settings.s3, timeout=settings.timeout_seconds)
    if settings.driver in ("azure", "gcs", "swift"):
        from dockyard.storage.opendal_store import opendal_driver

        return opendal_driver(settings)
    raise ValueError(f"unknown storage driver {settings.driver!r}")
