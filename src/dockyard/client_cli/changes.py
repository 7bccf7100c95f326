"""`dockyard tag` (the manifest PUT under another tag: no blob moves), `delete` and `attach`
(an artifact whose subject is the image)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dockyard.client import RegistryClient
from dockyard.client.artifacts import push_artifact
from dockyard.client_cli.common import Commands, connection_options, parse, run
from dockyard.client_cli.output import emit_json
from dockyard.client_cli.transfer import _pair


def add_commands(commands: Commands) -> None:
    options = connection_options()
    tag = commands.add_parser(
        "tag", parents=[options], help="tag an image again, in its repository"
    )
    tag.add_argument("reference")
    tag.add_argument("tag", help="the new tag")
    tag.set_defaults(run=_tag)
    delete = commands.add_parser(
        "delete", parents=[options], help="delete a manifest (by tag or digest) and its tags"
    )
    delete.add_argument("reference")
    delete.set_defaults(run=_delete)
    attach = commands.add_parser(
        "attach", parents=[options], help="push files as an artifact whose subject is REF"
    )
    attach.add_argument("reference")
    attach.add_argument("files", nargs="+", type=Path)
    attach.add_argument("--artifact-type", required=True)
    attach.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE")
    attach.set_defaults(run=_attach)


def _tag(args: argparse.Namespace) -> int:
    reference = parse(args.reference)
    target = reference.with_tag(args.tag)

    async def work(client: RegistryClient) -> int:
        digest = await client.repository(reference).tag(reference.reference, args.tag)
        _print(args, f"{target}", digest)
        return 0

    return run(args, [reference.registry], work)


def _delete(args: argparse.Namespace) -> int:
    reference = parse(args.reference)

    async def work(client: RegistryClient) -> int:
        digest = await client.repository(reference).delete(reference.digest or reference.reference)
        _print(args, f"{reference.name}", digest, "deleted")
        return 0

    return run(args, [reference.registry], work)


def _attach(args: argparse.Namespace) -> int:
    reference = parse(args.reference)

    async def work(client: RegistryClient) -> int:
        repository = client.repository(reference)
        subject = await repository.resolve(reference.reference)
        pushed = await push_artifact(
            repository,
            args.files,
            args.artifact_type,
            annotations=dict(_pair(text) for text in args.annotation),
            subject=subject,
        )
        _print(args, reference.name, pushed.digest)
        return 0

    return run(args, [reference.registry], work)


def _print(args: argparse.Namespace, name: str, digest: object, action: str = "") -> None:
    if args.json:
        emit_json({"name": name, "digest": str(digest), **({"action": action} if action else {})})
    else:
        print(f"{name}@{digest}" + (f" {action}" if action else ""))
