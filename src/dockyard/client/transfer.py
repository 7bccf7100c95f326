"""Moving images between a registry and an OCI layout, or between two registries: push, pull
and copy are one walk (the top manifest, its children, their blobs, children before parents so
a registry never sees a manifest before what it references), with blobs in parallel.

- layout → registry: skipped when there (HEAD), mounted from `mount_from`, else uploaded.
- registry → layout: verified while streaming, written once whole, resumed with `Range`.
- registry → registry: mounted when both are one registry, else streamed from one connection
  into the other without touching the disk; referrers follow on request."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dockyard.client.errors import DigestMismatch, NotFound
from dockyard.client.images import Descriptor, Manifest, Platform, media_type_of
from dockyard.client.layout import LayoutError, OciLayout
from dockyard.client.repository import Repository
from dockyard.oci.digest import Digest


class Progress(Protocol):
    """Told of each blob as it moves (a progress bar per layer on a terminal)."""

    def start(self, blob: Descriptor) -> None: ...
    def advance(self, blob: Descriptor, count: int) -> None: ...
    def finish(self, blob: Descriptor, how: str) -> None: ...


class NoProgress:
    def start(self, blob: Descriptor) -> None:
        pass

    def advance(self, blob: Descriptor, count: int) -> None:
        pass

    def finish(self, blob: Descriptor, how: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class RegistryEnd:
    """A repository of a registry; `mount_from`: other repositories of the same registry whose
    blobs a push may mount instead of uploading."""

    repository: Repository
    mount_from: tuple[str, ...] = ()

    @property
    def registry(self) -> str:
        return self.repository.session.registry

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository.name}"


@dataclass(frozen=True, slots=True)
class LayoutEnd:
    layout: OciLayout

    def __str__(self) -> str:
        return f"oci:{self.layout.path}"


End = RegistryEnd | LayoutEnd


@dataclass
class Transferred:
    """What the destination now holds at the top (under the tag, if one was given), and how
    each blob got there (`exists`, `mounted`, `uploaded`, `downloaded`, `copied`)."""

    top: Descriptor
    blobs: dict[Digest, str] = field(default_factory=dict)
    manifests: list[Descriptor] = field(default_factory=list)

    def count(self, how: str) -> int:
        return sum(1 for value in self.blobs.values() if value == how)


async def transfer(
    source: End,
    reference: str | Digest | None,
    destination: End,
    tag: str | None,
    *,
    platforms: Sequence[Platform] = (),
    referrers: bool = False,
    parallel: int = 4,
    progress: Progress | None = None,
) -> Transferred:
    """Copy what `reference` names at `source` (a tag or digest; for a layout, its tag or None
    for its only manifest) to `destination`, under `tag` (None: by digest only).

    `platforms`: of a multi-platform index, keep only these (one: that image alone; several:
    a new index of them); empty keeps the index whole. `referrers`: copy the manifests whose
    subject is a copied manifest too (registry to registry)."""
    walk = _Walk(source, destination, asyncio.Semaphore(max(1, parallel)), progress or NoProgress())
    top = await walk.read(reference)
    if top.is_index and platforms:
        top = _select(top, platforms, f"{source}:{reference}")
        if not top.is_index:
            top = await walk.read(top.digest)
    await walk.children(top)
    descriptor = await walk.write(top, tag, top=True)
    if referrers and isinstance(source, RegistryEnd) and isinstance(destination, RegistryEnd):
        await _copy_referrers(source, destination, walk.done.manifests, parallel, progress)
    walk.done.top = descriptor
    return walk.done


async def _copy_referrers(
    source: RegistryEnd,
    destination: RegistryEnd,
    copied: Sequence[Descriptor],
    parallel: int,
    progress: Progress | None,
) -> None:
    """The manifests whose subject is a copied one, then theirs, and so on, each once: in a
    loop, not by recursion, as a chain of signatures of signatures is as long as its pusher
    made it."""
    done = {descriptor.digest for descriptor in copied}
    subjects = list(done)
    while subjects:
        for referrer in await source.repository.referrers(subjects.pop()):
            if referrer.digest in done:
                continue
            moved = await transfer(source, referrer.digest, destination, None,
                                   parallel=parallel, progress=progress)  # fmt: skip
            for descriptor in moved.manifests:
                if descriptor.digest not in done:
                    done.add(descriptor.digest)
                    subjects.append(descriptor.digest)


def _select(index: Manifest, platforms: Sequence[Platform], what: str) -> Manifest:
    """One platform's child (its descriptor as a stand-in manifest to read), or a new index of
    several."""
    parsed = index.index()
    chosen: list[Descriptor] = []
    for platform in platforms:
        child = parsed.select(platform)
        if child is None:
            offered = ", ".join(str(p) for p in parsed.platforms()) or "none"
            raise NotFound(f"{what}: no image for platform {platform} (it has: {offered})")
        chosen.append(child)
    if len(chosen) == 1:
        return Manifest(chosen[0].media_type, chosen[0].digest, b"")
    document = index.document()
    wanted = {str(child.digest) for child in chosen}
    document["manifests"] = [m for m in document["manifests"] if m.get("digest") in wanted]
    body = json.dumps(document).encode()
    return Manifest(index.media_type, Digest.of(body), body)


class _Walk:
    def __init__(
        self, source: End, destination: End, slots: asyncio.Semaphore, progress: Progress
    ) -> None:
        self.source = source
        self.destination = destination
        self.slots = slots
        self.progress = progress
        # Each manifest and blob is moved once, however often it is referenced: an index may
        # list one child many times, and its children may be indexes that do too, which
        # walked naively would be as many reads and writes as paths through them
        # (exponential in the depth).
        self.manifests: dict[Digest, asyncio.Task[None]] = {}
        self.blobs: dict[Digest, asyncio.Task[str]] = {}
        self.done = Transferred(Descriptor("", Digest("sha256", "0" * 64), 0))

    async def read(self, reference: str | Digest | None) -> Manifest:
        if isinstance(self.source, RegistryEnd):
            return await self.source.repository.manifest(reference or "latest")
        layout = self.source.layout
        if isinstance(reference, Digest):
            descriptor = next((d for d in layout.entries() if d.digest == reference), None)
            media_type = descriptor.media_type if descriptor else ""
        else:
            descriptor = layout.resolve(reference)
            reference, media_type = descriptor.digest, descriptor.media_type
        body = layout.read_blob(reference)
        if Digest.of(body, reference.algorithm) != reference:
            raise DigestMismatch(f"manifest {reference} in {layout.path}", str(reference),
                                 str(Digest.of(body, reference.algorithm)))  # fmt: skip
        return Manifest(media_type or media_type_of(body, None), reference, body)

    async def children(self, manifest: Manifest) -> None:
        """Everything `manifest` references, in the destination before it."""
        if manifest.is_index:
            jobs: list[Awaitable[None]] = [
                self.child(child) for child in manifest.index().manifests
            ]
            await asyncio.gather(*jobs)
            return
        await asyncio.gather(*(self.blob(blob) for blob in manifest.image().blobs))

    async def child(self, descriptor: Descriptor) -> None:
        task = self.manifests.get(descriptor.digest)
        if task is None:
            task = asyncio.ensure_future(self._child(descriptor))
            self.manifests[descriptor.digest] = task
        await task

    async def _child(self, descriptor: Descriptor) -> None:
        manifest = await self.read(descriptor.digest)
        manifest = Manifest(descriptor.media_type or manifest.media_type, manifest.digest,
                            manifest.body)  # fmt: skip
        await self.children(manifest)
        await self.write(manifest, None)

    async def write(self, manifest: Manifest, tag: str | None, top: bool = False) -> Descriptor:
        descriptor = manifest.descriptor
        if isinstance(self.destination, RegistryEnd):
            await self.destination.repository.put_manifest(manifest.body, manifest.media_type, tag)
        else:
            layout = self.destination.layout
            layout.write_blob(manifest.body)
            if top:  # index.json names the top manifest, untagged when no tag is given
                layout.set_tag(tag, descriptor)
        self.done.manifests.append(descriptor)
        return descriptor

    async def blob(self, blob: Descriptor) -> None:
        task = self.blobs.get(blob.digest)
        if task is None:
            task = asyncio.ensure_future(self._blob(blob))
            self.blobs[blob.digest] = task
        self.done.blobs[blob.digest] = await task

    async def _blob(self, blob: Descriptor) -> str:
        async with self.slots:
            self.progress.start(blob)
            how = await self._move(blob)
            self.progress.finish(blob, how)
            return how

    async def _move(self, blob: Descriptor) -> str:
        source, destination = self.source, self.destination

        def on_bytes(count: int) -> None:
            self.progress.advance(blob, count)

        if isinstance(destination, LayoutEnd):
            layout = destination.layout
            if layout.has_blob(blob.digest):
                return "exists"
            if isinstance(source, LayoutEnd):
                layout.add_file(_layout_blob(source.layout, blob.digest), blob.digest)
                return "copied"
            path = layout.blob_path(blob.digest)
            path.parent.mkdir(parents=True, exist_ok=True)
            await source.repository.blob_to_file(blob.digest, path, blob.size, on_bytes)
            return "downloaded"
        mount = list(destination.mount_from)
        if isinstance(source, LayoutEnd):
            path = _layout_blob(source.layout, blob.digest)
            pushed = await destination.repository.push_blob(
                path, blob.digest, blob.size, mount_from=mount, on_bytes=on_bytes
            )
            return pushed.how.value
        if source.registry == destination.registry and source.repository.name not in mount:
            mount.insert(0, source.repository.name)
        stream = source.repository.blob(blob.digest, blob.size)
        async with _closing(stream):
            pushed = await destination.repository.push_blob(
                stream, blob.digest, blob.size, mount_from=mount, on_bytes=on_bytes
            )
        return pushed.how.value


def _layout_blob(layout: OciLayout, digest: Digest) -> Path:
    path = layout.blob_path(digest)
    if not path.is_file():
        raise LayoutError(f"{layout.path} lacks blob {digest}")
    return path


@contextlib.asynccontextmanager
async def _closing(stream: AsyncIterator[bytes]) -> AsyncIterator[None]:
    """Close a download the push did not need (skipped or mounted) or stopped reading."""
    try:
        yield
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
