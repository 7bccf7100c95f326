"""Drivers by name, as the configuration's `storage.driver` names them."""

from __future__ import annotations

from pathlib import Path

from dockyard.storage.base import StorageDriver
from dockyard.storage.filesystem import FilesystemDriver
from dockyard.storage.memory import MemoryDriver


def create_driver(name: str, root: Path) -> StorageDriver:
    if name == "filesystem":
        return FilesystemDriver(root)
    if name == "memory":
        return MemoryDriver()
    raise ValueError(f"unknown storage driver {name!r}")
