"""`dockyard push`, `pull` and `copy`: where images come from and go to (an OCI layout, a
docker-archive tarball, files as an artifact, a registry), then one library call."""

from __future__ import annotations

import argparse
import platform as host_machine
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dockyard.client import Platform, RegistryClient
from dockyard.client.archive import archive_to_layout, layout_to_archive
from dockyard.client.artifacts import push_artifact
from dockyard.client.layout import LayoutError, OciLayout, parse_layout_spec
from dockyard.client.transfer import LayoutEnd, RegistryEnd, Transferred, transfer
from dockyard.client_cli.common import Commands, connection_options, parse, run
from dockyard.client_cli.output import emit_json, note
from dockyard.client_cli.progress import progress

DEFAULT_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1"
# Go's names for machines, as --platform and image indexes spell them.
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def add_commands(commands: Commands) -> None:
    options = connection_options()
    push = commands.add_parser(
        "push",
        parents=[options],
        help="push an OCI layout, a docker-archive or files",
        description="SOURCE: oci:DIR[:TAG], docker-archive:FILE, or a file or directory "
        "published as an OCI artifact.",
    )
    push.add_argument("source")
    push.add_argument("reference")
    push.add_argument("--artifact-type", help=f"for files (default {DEFAULT_ARTIFACT_TYPE})")
    push.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE")
    _common(push)
    push.set_defaults(run=_push)
    pull = commands.add_parser(
        "pull",
        parents=[options],
        help="pull an image into an OCI layout or a docker-archive",
        description="DEST: oci:DIR[:TAG] (or a directory), or docker-archive:FILE.",
    )
    pull.add_argument("reference")
    pull.add_argument("destination")
    _common(pull)
    pull.add_argument("--all-platforms", action="store_true", help="keep a whole index")
    pull.set_defaults(run=_pull)
    copy = commands.add_parser(
        "copy",
        parents=[options],
        help="copy an image between registries (all platforms by default)",
    )
    copy.add_argument("source")
    copy.add_argument("destination")
    copy.add_argument(
        "--referrers", action="store_true", help="copy the artifacts that refer to the image too"
    )
    _common(copy)
    copy.set_defaults(run=_copy)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH[/VARIANT]",
        help="of a multi-platform image, only this one (repeatable)",
    )
    parser.add_argument(
        "--mount-from",
        action="append",
        default=[],
        metavar="REPOSITORY",
        help="a repository of the destination registry to mount blobs from",
    )
    parser.add_argument("--parallel", type=int, default=4, help="blobs at once (default 4)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def _push(args: argparse.Namespace) -> int:
    target = parse(args.reference)
    source: str = args.source

    async def work(client: RegistryClient) -> int:
        repository = client.repository(target)
        end = RegistryEnd(repository, tuple(args.mount_from))
        if source.startswith("oci:"):
            path, tag = parse_layout_spec(source)
            done = await _transfer(args, LayoutEnd(OciLayout.open(path)), tag, end, target.tag)
        elif source.startswith("docker-archive:"):
            with tempfile.TemporaryDirectory(prefix="dockyard-archive-") as folder:
                layout = OciLayout.create(Path(folder) / "layout")
                archive_to_layout(Path(source.removeprefix("docker-archive:")), layout)
                done = await _transfer(args, LayoutEnd(layout), None, end, target.tag)
        else:
            annotations = dict(_pair(text) for text in args.annotation)
            top = await push_artifact(
                repository,
                [Path(source)],
                args.artifact_type or DEFAULT_ARTIFACT_TYPE,
                annotations=annotations,
                tag=target.tag,
            )
            done = Transferred(top)
        _report(args, str(target), done)
        return 0

    return run(args, [target.registry], work)


def _pull(args: argparse.Namespace) -> int:
    source = parse(args.reference)
    destination: str = args.destination
    platforms = _platforms(args.platform, all_platforms=args.all_platforms)

    async def work(client: RegistryClient) -> int:
        end = RegistryEnd(client.repository(source))
        if destination.startswith("docker-archive:"):
            archive = Path(destination.removeprefix("docker-archive:"))
            # Kept beside the archive until it is written: a pull run again resumes from it.
            staging = archive.with_name(archive.name + ".layout")
            layout = OciLayout.create(staging)
            chosen = platforms or _platforms([], all_platforms=False)
            done = await _transfer(
                args, end, source.reference, LayoutEnd(layout), source.tag, chosen
            )
            repo_tag = f"{source.name}:{source.tag}" if source.tag else None
            layout_to_archive(layout, done.top, archive, [repo_tag] if repo_tag else [])
            shutil.rmtree(staging)
        else:
            path, tag = parse_layout_spec(destination)
            layout = OciLayout.create(path)
            done = await _transfer(
                args, end, source.reference, LayoutEnd(layout), tag or source.tag, platforms
            )
        _report(args, destination, done)
        return 0

    return run(args, [source.registry], work)


def _copy(args: argparse.Namespace) -> int:
    source, target = parse(args.source), parse(args.destination)

    async def work(client: RegistryClient) -> int:
        done = await transfer(
            RegistryEnd(client.repository(source)),
            source.reference,
            RegistryEnd(client.repository(target), tuple(args.mount_from)),
            target.tag,
            platforms=_platforms(args.platform, all_platforms=True),
            referrers=args.referrers,
            parallel=args.parallel,
        )
        _report(args, str(target), done)
        return 0

    return run(args, {source.registry, target.registry}, work)


async def _transfer(
    args: argparse.Namespace,
    source: LayoutEnd | RegistryEnd,
    reference: str | None,
    destination: LayoutEnd | RegistryEnd,
    tag: str | None,
    platforms: Sequence[Platform] | None = None,
) -> Transferred:
    chosen = _platforms(args.platform, all_platforms=True) if platforms is None else platforms
    with progress(not (args.quiet or args.json)) as bars:
        return await transfer(
            source,
            reference,
            destination,
            tag,
            platforms=chosen,
            parallel=args.parallel,
            progress=bars,
        )


def _platforms(texts: list[str], *, all_platforms: bool) -> list[Platform]:
    """The platforms asked for; none means the whole index when `all_platforms`, else this
    machine's platform (what docker pulls)."""
    if texts:
        return [Platform.parse(text) for text in texts]
    if all_platforms:
        return []
    machine = host_machine.machine().lower()
    return [Platform("linux", _ARCHITECTURES.get(machine, machine))]


def _report(args: argparse.Namespace, where: str, done: Transferred) -> None:
    if args.json:
        emit_json(
            {
                "reference": where,
                "digest": str(done.top.digest),
                "mediaType": done.top.media_type,
                "size": done.top.size,
                "blobs": {str(digest): how for digest, how in done.blobs.items()},
            }
        )
        return
    counts = ", ".join(
        f"{done.count(how)} {how}"
        for how in ("uploaded", "mounted", "exists", "downloaded", "copied")
        if done.count(how)
    )
    note(f"{where}: {len(done.blobs)} blobs ({counts or 'none'}), {len(done.manifests)} manifests")
    print(f"{where}@{done.top.digest}" if "@" not in where else where)


def _pair(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise LayoutError(f"annotation {text!r} is not KEY=VALUE")
    return key, value
