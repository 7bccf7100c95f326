"""Storage drivers: where blob and upload bytes live, behind one small async interface."""

from dockyard.storage.base import NotFound, ObjectInfo, Piece, StorageDriver
from dockyard.storage.factory import create_driver

__all__ = ["NotFound", "ObjectInfo", "Piece", "StorageDriver", "create_driver"]
