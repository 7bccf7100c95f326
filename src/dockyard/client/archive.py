"""`docker save` tarballs (docker-archive): `manifest.json` lists each image's config file and
layer tars (`<id>/layer.tar` before Docker 25, `blobs/sha256/<hex>` since). Read into an OCI
layout (an OCI manifest over the same config and layer bytes) and written from one, in the shape
Docker 25 writes (an OCI layout plus manifest.json), which every `docker load` reads."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import IO, Any

from dockyard.client.errors import NOT_JSON
from dockyard.client.images import Descriptor, Manifest
from dockyard.client.layout import REF_NAME, LayoutError, OciLayout
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 1 << 20


def archive_to_layout(archive: Path, layout: OciLayout, tag: str | None = None) -> Descriptor:
    """Add the archive's first image (or the one whose RepoTags holds `tag`'s text) to the
    layout as an OCI manifest; its descriptor, tagged in index.json as `tag` or `latest`."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            entry = _entry(_json_member(tar, "manifest.json", archive), tag, archive)
            config = _member(tar, entry["Config"], archive).read()
            layers = [_layer(tar, name, layout, archive) for name in entry["Layers"]]
    except (tarfile.TarError, OSError, KeyError, TypeError) as exc:
        raise LayoutError(f"{archive} is not a docker-archive: {exc}") from None
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": Descriptor(OCI_CONFIG, layout.write_blob(config), len(config)).to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    body = json.dumps(manifest).encode()
    descriptor = Descriptor(mediatypes.OCI_MANIFEST, layout.write_blob(body), len(body))
    layout.set_tag(tag or "latest", descriptor)
    return descriptor


def layout_to_archive(
    layout: OciLayout, descriptor: Descriptor, archive: Path, repo_tags: list[str]
) -> None:
    """Write one image of the layout as a docker-archive `docker load` takes (written beside
    and renamed once whole)."""
    manifest = Manifest(
        descriptor.media_type, descriptor.digest, layout.read_blob(descriptor.digest)
    )
    if manifest.is_index:
        raise LayoutError("a docker-archive holds one platform's image: choose one with --platform")
    image = manifest.image()
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for blob in (image.config, *image.layers, descriptor):
            tar.add(layout.blob_path(blob.digest), _blob_name(blob.digest), recursive=False)
        entry = {
            "Config": _blob_name(image.config.digest),
            "RepoTags": repo_tags,
            "Layers": [_blob_name(layer.digest) for layer in image.layers],
        }
        _add_bytes(tar, "manifest.json", json.dumps([entry]).encode())
        _add_bytes(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        tagged = {**descriptor.to_json(), "annotations": {REF_NAME: repo_tags[0]}} if repo_tags \
            else descriptor.to_json()  # fmt: skip
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [tagged]}
        _add_bytes(tar, "index.json", json.dumps(index).encode())
    partial.replace(archive)


def _entry(manifest: Any, tag: str | None, archive: Path) -> dict[str, Any]:
    if not isinstance(manifest, list) or not manifest:
        raise LayoutError(f"{archive}: manifest.json lists no image")
    for entry in manifest:
        if tag is None or tag in (entry.get("RepoTags") or []):
            if not isinstance(entry.get("Config"), str) or not isinstance(
                entry.get("Layers"), list
            ):
                raise LayoutError(f"{archive}: manifest.json entry without Config or Layers")
            return dict(entry)
    return dict(manifest[0])


def _json_member(tar: tarfile.TarFile, name: str, archive: Path) -> Any:
    try:
        return json.load(_member(tar, name, archive))
    except NOT_JSON as exc:
        raise LayoutError(f"{archive}: {name} is not JSON: {exc}") from None


def _member(tar: tarfile.TarFile, name: str, archive: Path) -> IO[bytes]:
    try:
        found = tar.extractfile(name)
    except KeyError:
        found = None
    if found is None:
        raise LayoutError(f"{archive} has no file {name}")
    return found


def _layer(tar: tarfile.TarFile, name: str, layout: OciLayout, archive: Path) -> Descriptor:
    """Stream one layer into the layout, hashing it on the way."""
    source = _member(tar, name, archive)
    staging = layout.path / "blobs" / f".incoming-{hashlib.sha256(name.encode()).hexdigest()}"
    staging.parent.mkdir(parents=True, exist_ok=True)
    hasher, size, head = hashlib.sha256(), 0, b""
    with staging.open("wb") as output:
        while block := source.read(CHUNK):
            if not head:
                head = block[:2]
            hasher.update(block)
            output.write(block)
            size += len(block)
    digest = Digest("sha256", hasher.hexdigest())
    target = layout.blob_path(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.replace(target)
    media_type = OCI_LAYER_GZIP if head == b"\x1f\x8b" else OCI_LAYER
    return Descriptor(media_type, digest, size)


def _blob_name(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
