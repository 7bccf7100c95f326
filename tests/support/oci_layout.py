"""Build OCI image layouts on disk by hand: tar layers, configs, manifests, indexes, index.json.

What skopeo reads as `oci:DIR:TAG`. Layers are uncompressed tars with fixed metadata, so the
same files always give the same digests.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from tests.support.images import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256

OCI_LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"


def tar_layer(files: dict[str, bytes]) -> bytes:
    """A reproducible tar of regular files (paths relative to /, parents created as needed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories: set[str] = set()
        for name in sorted(files):
            parts = name.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory + "/")
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            data = files[name]
            info = tarfile.TarInfo("/".join(parts))
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Layout:
    """An OCI image layout directory; `tag()` records a descriptor in index.json."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        if not (path / "index.json").exists():
            self._write_index([])

    def write_blob(self, data: bytes) -> str:
        digest = sha256(data)
        (self.path / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
        return digest

    def read_blob(self, digest: str) -> bytes:
        algorithm, hex_digest = digest.split(":", 1)
        return (self.path / "blobs" / algorithm / hex_digest).read_bytes()

    def descriptor(self, media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
        return {
            "mediaType": media_type,
            "digest": self.write_blob(data),
            "size": len(data),
            **extra,
        }

    def add_image(
        self, layers: list[dict[str, bytes]], architecture: str = "amd64", os: str = "linux"
    ) -> dict[str, Any]:
        """Write an image (one tar per dict of files) and return its manifest's descriptor."""
        tars = [tar_layer(files) for files in layers]
        config = {
            "architecture": architecture,
            "os": os,
            "config": {"Env": ["PATH=/"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar) for tar in tars]},
            "history": [{"created_by": f"layer {i}"} for i in range(len(tars))],
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.descriptor(OCI_CONFIG, json.dumps(config).encode()),
            "layers": [self.descriptor(OCI_LAYER, tar) for tar in tars],
        }
        platform = {"architecture": architecture, "os": os}
        return self.descriptor(OCI_MANIFEST, json.dumps(manifest).encode(), platform=platform)

    def add_index(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.descriptor(OCI_INDEX, json.dumps(index).encode())

    def tag(self, tag: str, descriptor: dict[str, Any]) -> None:
        entry = {key: value for key, value in descriptor.items() if key != "platform"}
        entry["annotations"] = {REF_NAME: tag}
        others = [
            other
            for other in self.index()["manifests"]
            if other.get("annotations", {}).get(REF_NAME) != tag
        ]
        self._write_index([*others, entry])

    def tagged(self, tag: str) -> dict[str, Any]:
        """The descriptor that index.json records for tag."""
        for entry in self.index()["manifests"]:
            if entry.get("annotations", {}).get(REF_NAME) == tag:
                return dict(entry)
        raise KeyError(f"{tag} is not in {self.path}/index.json")

    def index(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.path / "index.json").read_text())
        return document

    def _write_index(self, manifests: list[dict[str, Any]]) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        (self.path / "index.json").write_text(json.dumps(index))
