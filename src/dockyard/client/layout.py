"""OCI image layouts on disk (image-spec `image-layout.md`): `oci-layout`, `index.json` naming
the top manifests (a tag is the `org.opencontainers.image.ref.name` annotation), and every blob
under `blobs/<alg>/<hex>`. What skopeo, umoci, buildah and oras read and write as `oci:DIR:TAG`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from dockyard.client.errors import NOT_JSON
from dockyard.client.images import Descriptor, InvalidContent
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = "1.0.0"


class LayoutError(Exception):
    """A directory that is not a usable OCI layout, or a tag it does not hold."""


def parse_layout_spec(text: str) -> tuple[Path, str | None]:
    """`oci:DIR[:TAG]` (the `oci:` prefix optional) as (DIR, TAG); the last `:` separates the
    tag when what follows it is not a path."""
    text = text.removeprefix("oci:")
    directory, colon, tag = text.rpartition(":")
    if colon and directory and tag and "/" not in tag:
        return Path(directory), tag
    return Path(text), None


class OciLayout:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path) -> OciLayout:
        if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
            raise LayoutError(f"{path} is not an OCI image layout (no oci-layout or index.json)")
        return cls(path)

    @classmethod
    def create(cls, path: Path) -> OciLayout:
        """The layout at `path`, made if missing (an existing one is added to)."""
        if path.exists() and not path.is_dir():
            raise LayoutError(f"{path} exists and is not a directory")
        if (path / "oci-layout").is_file():
            return cls.open(path)
        if path.is_dir() and any(path.iterdir()):
            raise LayoutError(f"{path} is neither empty nor an OCI image layout")
        path.mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": LAYOUT_VERSION}))
        layout = cls(path)
        layout._write_index([])
        return layout

    # --- blobs ----------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        return self.path / "blobs" / digest.algorithm / digest.hex

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: Digest) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise LayoutError(f"{self.path} lacks blob {digest}") from None

    def write_blob(self, data: bytes) -> Digest:
        digest = Digest.of(data)
        path = self.blob_path(digest)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            partial.replace(path)
        return digest

    def add_file(self, source: Path, digest: Digest) -> None:
        """Copy a file whose digest is known into the layout (a hard link when possible)."""
        path = self.blob_path(digest)
        if path.is_file():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, path)
        except OSError:
            partial = path.with_name(path.name + ".partial")
            shutil.copyfile(source, partial)
            partial.replace(path)

    # --- index.json -----------------------------------------------------------------------

    def entries(self) -> list[Descriptor]:
        manifests = self._index().get("manifests")
        if not isinstance(manifests, list):
            raise LayoutError(f"{self.path}/index.json has no manifests list")
        try:
            return [Descriptor.from_json(item, "index.json entry") for item in manifests]
        except InvalidContent as exc:
            raise LayoutError(f"{self.path}/index.json: {exc}") from None

    def resolve(self, tag: str | None) -> Descriptor:
        """The manifest tagged `tag`, or the only one when no tag is given."""
        entries = self.entries()
        if tag is None:
            if len(entries) != 1:
                raise LayoutError(
                    f"{self.path} holds {len(entries)} manifests: name one as oci:DIR:TAG"
                )
            return entries[0]
        for entry in entries:
            if (entry.annotations or {}).get(REF_NAME) == tag:
                return entry
        raise LayoutError(f"{self.path} has no manifest tagged {tag!r}")

    def set_tag(self, tag: str | None, descriptor: Descriptor) -> None:
        """Record `descriptor` in index.json under `tag` (replacing what had the tag), or
        untagged when `tag` is None."""
        annotations = {**(descriptor.annotations or {})}
        if tag is not None:
            annotations[REF_NAME] = tag
        entry = Descriptor(descriptor.media_type, descriptor.digest, descriptor.size,
                           annotations or None, descriptor.artifact_type,
                           descriptor.platform).to_json()  # fmt: skip
        kept = [
            item
            for item in self._index().get("manifests") or []
            if not (
                isinstance(item, dict)
                and (
                    (tag is not None and (item.get("annotations") or {}).get(REF_NAME) == tag)
                    or (tag is None and item.get("digest") == str(descriptor.digest))
                )
            )
        ]
        self._write_index([*kept, entry])

    def _index(self) -> dict[str, Any]:
        try:
            document = json.loads((self.path / "index.json").read_text())
        except (OSError, *NOT_JSON) as exc:
            raise LayoutError(f"cannot read {self.path}/index.json: {exc}") from None
        if not isinstance(document, dict):
            raise LayoutError(f"{self.path}/index.json is not a JSON object")
        return document

    def _write_index(self, manifests: list[dict[str, Any]]) -> None:
        document = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": manifests}
        partial = self.path / "index.json.partial"
        partial.write_text(json.dumps(document, indent=2))
        partial.replace(self.path / "index.json")
