"""Dockyard: a container registry and hub."""

__version__ = "0.1.0"
