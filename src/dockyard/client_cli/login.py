"""`dockyard login` and `logout`: credentials checked against the registry, then stored where
docker stores them (config.json `auths`, or its credential helper)."""

from __future__ import annotations

import argparse
import getpass
import sys

from dockyard.client import Credential, RegistryClient, StaticCredentials
from dockyard.client.credentials import erase_credential, store_credential
from dockyard.client_cli.common import (
    Commands,
    connection_options,
    guarded,
    host_options,
    registry_host,
    run,
)


def add_commands(commands: Commands) -> None:
    login = commands.add_parser(
        "login",
        parents=[connection_options()],
        help="log in to a registry (stored as docker stores it)",
    )
    login.add_argument(
        "registry", help="HOST[:PORT] (docker.io when omitted)", nargs="?", default="docker.io"
    )
    login.add_argument("-u", "--username")
    login.add_argument("-p", "--password", help="prefer --password-stdin")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.set_defaults(run=_login)
    logout = commands.add_parser("logout", help="forget the credentials of a registry")
    logout.add_argument("registry", nargs="?", default="docker.io")
    logout.set_defaults(run=_logout)


def _login(args: argparse.Namespace) -> int:
    def prepare() -> int:
        host = registry_host(args.registry)
        username = args.username or input("Username: ")
        if args.password_stdin:
            password = sys.stdin.read().rstrip("\r\n")
        elif args.password is not None:
            password = args.password
        else:
            password = getpass.getpass("Password: ")
        if not username or not password:
            raise ValueError("login needs a username and a password")
        credential = Credential(username=username, password=password)
        client = RegistryClient(StaticCredentials({host: credential}), host_options(args, [host]))

        async def work(used: RegistryClient) -> int:
            stored = await used.registry(host).login() or credential
            helper = store_credential(host, stored, username)
            where = f"docker-credential-{helper}" if helper else "config.json"
            print(f"Login Succeeded ({host}, stored in {where})")
            return 0

        return run(args, [host], work, client)

    return guarded(prepare)


def _logout(args: argparse.Namespace) -> int:
    def forget() -> int:
        host = registry_host(args.registry)
        if erase_credential(host):
            print(f"Removed login credentials for {host}")
        else:
            print(f"Not logged in to {host}")
        return 0

    return guarded(forget)
