"""`dockyard` imports only the module of the server command it runs (cli.SERVER_COMMANDS): the
table must name every command each module adds, and only those."""

from __future__ import annotations

import argparse
import importlib

from dockyard.cli import SERVER_COMMANDS


def _added_by(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    importlib.import_module(module).add_commands(commands)
    return set(commands.choices)


def test_the_table_names_each_modules_commands() -> None:
    for module in set(SERVER_COMMANDS.values()):
        named = {command for command, owner in SERVER_COMMANDS.items() if owner == module}
        assert _added_by(module) == named, module
