"""`dockyard inspect` (manifest, config, layers, platforms; `--raw`) and `dockyard digest`."""

from __future__ import annotations

import argparse
import sys

from dockyard.client import Platform, RegistryClient
from dockyard.client.inspection import Inspection, inspect
from dockyard.client_cli.common import Commands, connection_options, parse, run
from dockyard.client_cli.output import emit_json, human_size, table


def add_commands(commands: Commands) -> None:
    options = connection_options()
    show = commands.add_parser(
        "inspect", parents=[options], help="show an image: manifest, config, layers, platforms"
    )
    show.add_argument("reference")
    show.add_argument("--raw", action="store_true", help="the manifest's bytes as served")
    show.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", help="of a multi-platform image, show this one"
    )
    show.set_defaults(run=_inspect)
    digest = commands.add_parser("digest", parents=[options], help="print a manifest's digest")
    digest.add_argument("reference")
    digest.set_defaults(run=_digest)


def _inspect(args: argparse.Namespace) -> int:
    reference = parse(args.reference)
    platform = Platform.parse(args.platform) if args.platform else None

    async def work(client: RegistryClient) -> int:
        repository = client.repository(reference)
        if args.raw:
            manifest = await repository.manifest(reference.reference)
            sys.stdout.buffer.write(manifest.body)
            sys.stdout.flush()
            return 0
        found = await inspect(repository, reference.reference, platform)
        if args.json:
            emit_json(found.to_json())
        else:
            _show(found)
        return 0

    return run(args, [reference.registry], work)


def _digest(args: argparse.Namespace) -> int:
    reference = parse(args.reference)

    async def work(client: RegistryClient) -> int:
        print((await client.repository(reference).resolve(reference.reference)).digest)
        return 0

    return run(args, [reference.registry], work)


def _show(found: Inspection) -> None:
    print(f"Name:       {found.name}")
    print(f"Digest:     {found.top.digest}")
    print(f"Media type: {found.top.media_type}")
    if found.children:
        print("Platforms:")
        rows = [(str(c.platform or "-"), c.digest, human_size(c.size)) for c in found.children]
        table(("  PLATFORM", "DIGEST", "SIZE"), [(f"  {r[0]}", *r[1:]) for r in rows])
    if found.image is None:
        return
    config = found.config
    if found.image is not found.top:
        print(f"Image:      {found.image.digest}")
    if found.artifact_type:
        print(f"Artifact:   {found.artifact_type}")
    if "os" in config:
        variant = f"/{config['variant']}" if config.get("variant") else ""
        print(f"Platform:   {config.get('os')}/{config.get('architecture')}{variant}")
    if "created" in config:
        print(f"Created:    {config['created']}")
    print(f"Size:       {human_size(found.size)}")
    print("Layers:")
    table(
        ("  DIGEST", "SIZE", "MEDIA TYPE"),
        [(f"  {layer.digest}", human_size(layer.size), layer.media_type) for layer in found.layers],
    )
