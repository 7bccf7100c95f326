"""OCI artifacts as oras makes them (image-spec 1.1): files as layers titled with their names
(a directory as one tar layer), the empty config, an `artifactType`, annotations, and
optionally a `subject` (what `attach` hangs the artifact on, found by the referrers API)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.client.images import Descriptor
from dockyard.client.layout import LayoutError
from dockyard.client.repository import Repository, file_digest
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest

TITLE = "org.opencontainers.image.title"
EMPTY_CONFIG = b"{}"
FILE_MEDIA_TYPE = "application/octet-stream"
DIRECTORY_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"


def file_layer(path: Path) -> tuple[bytes | Path, Descriptor]:
    """A file as it is, or a directory as a reproducible tar; titled with its name."""
    annotations = {TITLE: path.name}
    if path.is_dir():
        data = _tar_directory(path)
        return data, Descriptor(DIRECTORY_MEDIA_TYPE, Digest.of(data), len(data), annotations)
    if not path.is_file():
        raise LayoutError(f"{path}: no such file or directory")
    digest = file_digest(path)
    return path, Descriptor(FILE_MEDIA_TYPE, digest, path.stat().st_size, annotations)


async def push_artifact(
    repository: Repository,
    files: Sequence[Path],
    artifact_type: str,
    *,
    annotations: dict[str, str] | None = None,
    subject: Descriptor | None = None,
    tag: str | None = None,
) -> Descriptor:
    """Upload the files (skipping what is there) and the artifact's manifest; its
    descriptor."""
    layers = []
    for path in files:
        content, descriptor = file_layer(path)
        await repository.push_blob(content, descriptor.digest, descriptor.size)
        layers.append(descriptor)
    config = Descriptor(mediatypes.OCI_EMPTY, Digest.of(EMPTY_CONFIG), len(EMPTY_CONFIG))
    await repository.push_blob(EMPTY_CONFIG)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if subject is not None:
        manifest["subject"] = Descriptor(subject.media_type, subject.digest, subject.size).to_json()
    if annotations:
        manifest["annotations"] = dict(annotations)
    body = json.dumps(manifest).encode()
    digest = await repository.put_manifest(body, mediatypes.OCI_MANIFEST, tag)
    return Descriptor(mediatypes.OCI_MANIFEST, digest, len(body), annotations or None,
                      artifact_type)  # fmt: skip


def _tar_directory(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted([root, *root.rglob("*")]):
            info = tar.gettarinfo(str(path), str(Path(root.name) / path.relative_to(root)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isfile():
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
    return buffer.getvalue()
