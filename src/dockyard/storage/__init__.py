"""Storage drivers: where blob and upload bytes live, behind one small async interface."""

from dockyard.storage.base import NotFound, StorageDriver
from dockyard.storage.factory import create_driver

__all__ = ["NotFound", "StorageDriver", "create_driver"]
