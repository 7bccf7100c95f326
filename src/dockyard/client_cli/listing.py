"""`dockyard tags`, `catalog` (every `Link` page), `search` (`/v1/search`) and `referrers`."""

from __future__ import annotations

import argparse

from dockyard.client import RegistryClient
from dockyard.client_cli.common import Commands, connection_options, parse, registry_host, run
from dockyard.client_cli.output import emit_json, human_size, table


def add_commands(commands: Commands) -> None:
    options = connection_options()
    tags = commands.add_parser("tags", parents=[options], help="list a repository's tags")
    tags.add_argument("repository")
    tags.add_argument("--page-size", type=int, help="ask for pages of N (all pages are read)")
    tags.set_defaults(run=_tags)
    catalog = commands.add_parser(
        "catalog", parents=[options], help="list a registry's repositories"
    )
    catalog.add_argument("registry")
    catalog.add_argument("--page-size", type=int, help="ask for pages of N (all pages are read)")
    catalog.set_defaults(run=_catalog)
    search = commands.add_parser("search", parents=[options], help="search a registry (/v1/search)")
    search.add_argument("registry")
    search.add_argument("term")
    search.add_argument("--limit", type=int, default=25)
    search.set_defaults(run=_search)
    referrers = commands.add_parser(
        "referrers", parents=[options], help="list the artifacts whose subject is an image"
    )
    referrers.add_argument("reference")
    referrers.add_argument("--artifact-type", help="only these")
    referrers.set_defaults(run=_referrers)


def _tags(args: argparse.Namespace) -> int:
    reference = parse(args.repository)

    async def work(client: RegistryClient) -> int:
        found = [tag async for tag in client.repository(reference).tags(args.page_size)]
        if args.json:
            emit_json({"name": reference.name, "tags": found})
        else:
            for tag in found:
                print(tag)
        return 0

    return run(args, [reference.registry], work)


def _catalog(args: argparse.Namespace) -> int:
    host = registry_host(args.registry)

    async def work(client: RegistryClient) -> int:
        found = [name async for name in client.registry(host).catalog(args.page_size)]
        if args.json:
            emit_json({"registry": host, "repositories": found})
        else:
            for name in found:
                print(name)
        return 0

    return run(args, [host], work)


def _search(args: argparse.Namespace) -> int:
    host = registry_host(args.registry)

    async def work(client: RegistryClient) -> int:
        found = await client.registry(host).search(args.term, args.limit)
        if args.json:
            emit_json(
                [
                    {
                        "name": r.name,
                        "description": r.description,
                        "stars": r.stars,
                        "official": r.official,
                    }
                    for r in found
                ]
            )
        else:
            table(
                ("NAME", "DESCRIPTION", "STARS", "OFFICIAL"),
                [
                    (r.name, r.description[:45], r.stars, "[OK]" if r.official else "")
                    for r in found
                ],
            )
        return 0

    return run(args, [host], work)


def _referrers(args: argparse.Namespace) -> int:
    reference = parse(args.reference)

    async def work(client: RegistryClient) -> int:
        repository = client.repository(reference)
        subject = reference.digest or (await repository.resolve(reference.reference)).digest
        referrers = await repository.referrers(subject, args.artifact_type)
        if args.json:
            emit_json({"subject": str(subject), "manifests": [r.to_json() for r in referrers]})
        else:
            table(
                ("DIGEST", "ARTIFACT TYPE", "SIZE"),
                [(r.digest, r.artifact_type or "-", human_size(r.size)) for r in referrers],
            )
        return 0

    return run(args, [reference.registry], work)
