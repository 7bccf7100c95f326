"""One repository of a registry: manifests, blobs, tags, referrers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from dockyard.client import blobs, uploads
from dockyard.client.errors import NOT_JSON, DigestMismatch, ManifestUnknown, NotFound
from dockyard.client.images import Descriptor, Index, Manifest, json_object, media_type_of
from dockyard.client.listing import next_link, pages
from dockyard.client.session import Session
from dockyard.client.transport import read_within
from dockyard.client.uploads import Content, PushedBlob
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest, InvalidDigest, new_hasher

# Every manifest kind a pull can use, preferred first (what docker and containerd send).
MANIFEST_ACCEPT = ", ".join(
    [mediatypes.OCI_INDEX, mediatypes.OCI_MANIFEST,
     mediatypes.DOCKER_MANIFEST_LIST, mediatypes.DOCKER_MANIFEST]
)  # fmt: skip
# containerd's and Distribution's limit: a manifest is metadata, never this large.
MAX_MANIFEST_BYTES = 4 << 20


class Repository:
    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name

    def __repr__(self) -> str:
        return f"Repository({self.session.registry}/{self.name})"

    @property
    def _pull(self) -> tuple[str, ...]:
        return (f"repository:{self.name}:pull",)

    @property
    def _push(self) -> tuple[str, ...]:
        return (f"repository:{self.name}:pull,push",)

    def _what(self, reference: str | Digest, kind: str = "manifest") -> str:
        separator = "@" if isinstance(reference, Digest) or ":" in reference else ":"
        return f"{kind} {self.session.registry}/{self.name}{separator}{reference}"

    # --- manifests ------------------------------------------------------------------------

    async def manifest(self, reference: str | Digest, accept: str = MANIFEST_ACCEPT) -> Manifest:
        """The manifest by tag or digest, its bytes checked against the digest (the one asked
        for, else the one the registry claims in Docker-Content-Digest)."""
        what = self._what(reference)
        response = await self.session.request(
            "GET", f"/v2/{self.name}/manifests/{reference}", scopes=self._pull, what=what,
            headers={"Accept": accept}, stream=True,
        )  # fmt: skip
        data = await read_within(response, MAX_MANIFEST_BYTES, what)
        expected = _digest_of_reference(reference) or _header_digest(response.headers)
        actual = Digest.of(data, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise DigestMismatch(what, str(expected), str(actual))
        content_type = response.headers.get("content-type")
        return Manifest(media_type_of(data, content_type), actual, data)

    async def head_manifest(self, reference: str | Digest) -> Descriptor | None:
        """The manifest's descriptor without its body (HEAD: Docker Hub does not count it as
        a pull), or None if there is none."""
        what = self._what(reference)
        response = await self.session.request(
            "HEAD", f"/v2/{self.name}/manifests/{reference}", scopes=self._pull, what=what,
            headers={"Accept": MANIFEST_ACCEPT}, expect=(200, 404),
        )  # fmt: skip
        if response.status_code == 404:
            return None
        digest = _header_digest(response.headers) or _digest_of_reference(reference)
        if digest is None:
            # Some registries omit the digest on HEAD: GET is then the only way to know it.
            return (await self.manifest(reference)).descriptor
        length = response.headers.get("content-length", "")
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        return Descriptor(media_type, digest, int(length) if length.isdigit() else 0)

    async def resolve(self, reference: str | Digest) -> Descriptor:
        """The descriptor of what a tag or digest names: HEAD, else GET where the registry's
        HEAD gives no media type or answers nothing."""
        found = await self.head_manifest(reference)
        if found is None or not found.media_type:
            found = (await self.manifest(reference)).descriptor
        return found

    async def put_manifest(
        self, body: bytes, media_type: str, reference: str | Digest | None = None
    ) -> Digest:
        """Store a manifest under a tag (or its digest when None); its digest. A manifest with a
        subject on a registry without the referrers API is also added to the subject's
        fallback tag (`sha256-<hex>`), as the distribution-spec asks clients to."""
        digest = Digest.of(body)
        target = reference if reference is not None else digest
        response = await self.session.request(
            "PUT", f"/v2/{self.name}/manifests/{target}", scopes=self._push,
            what=self._what(target), expect=(201,), headers={"Content-Type": media_type},
            body=body,
        )  # fmt: skip
        claimed = _header_digest(response.headers)
        if claimed is not None and claimed.algorithm == "sha256" and claimed != digest:
            raise DigestMismatch(self._what(target), str(digest), str(claimed))
        subject = _subject(body)
        if subject is not None and "oci-subject" not in response.headers:
            await self._add_to_referrers_tag(subject, Descriptor(media_type, digest, len(body)),
                                             body)  # fmt: skip
        return digest

    async def tag(self, reference: str | Digest, tag: str) -> Digest:
        """Point `tag` at the manifest `reference` names: the manifest's own bytes PUT again
        under the tag (its blobs are there already: nothing else moves)."""
        manifest = await self.manifest(reference)
        return await self.put_manifest(manifest.body, manifest.media_type, tag)

    async def delete(self, reference: str | Digest) -> Digest:
        """Delete the manifest a tag or digest names (by digest: Distribution refuses tags),
        with every tag pointing at it; its digest."""
        if isinstance(reference, Digest):
            digest = reference
        else:
            found = await self.head_manifest(reference)
            if found is None:
                raise ManifestUnknown(f"{self._what(reference)}: manifest unknown [HTTP 404]",
                                      status=404, code="MANIFEST_UNKNOWN")  # fmt: skip
            digest = found.digest
        await self.delete_manifest(digest)
        return digest

    async def delete_manifest(self, reference: str | Digest) -> None:
        """Delete by digest (or by tag, where the registry allows it)."""
        await self.session.request(
            "DELETE", f"/v2/{self.name}/manifests/{reference}",
            scopes=(f"repository:{self.name}:delete",), what=self._what(reference),
            expect=(200, 202),
        )  # fmt: skip

    # --- blobs ----------------------------------------------------------------------------

    def blob(
        self, digest: Digest | str, size: int | None = None, verify: bool = True
    ) -> AsyncIterator[bytes]:
        """The blob's bytes as they arrive; raises DigestMismatch instead of ending if they are
        not the blob's (unless not `verify`: for a consumer that hashes them itself). Wrap in
        contextlib.aclosing() when stopping early."""
        return blobs.stream_blob(self.session, self.name, _digest(digest), size, verify=verify)

    async def blob_bytes(self, digest: Digest | str, size: int | None = None) -> bytes:
        return b"".join([chunk async for chunk in self.blob(digest, size)])

    async def blob_to_file(
        self,
        digest: Digest | str,
        path: Path,
        size: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> int:
        """Download to `path` (renamed into place once verified; resumable); its size.
        `on_bytes` is told of every piece written (and of what a resumed file already held)."""
        return await blobs.blob_to_file(
            self.session, self.name, _digest(digest), path, size, on_bytes
        )

    async def blob_exists(self, digest: Digest | str) -> int | None:
        return await uploads.blob_exists(self.session, self.name, _digest(digest))

    async def push_blob(
        self,
        content: Content,
        digest: Digest | str | None = None,
        size: int | None = None,
        *,
        mount_from: Iterable[str] = (),
        chunk_size: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> PushedBlob:
        """Skip, mount (from `mount_from` repositories of this registry) or upload a blob;
        monolithic unless `chunk_size` is given. A stream needs its digest. `on_bytes` is told
        of every piece sent (again when a retry resends a file)."""
        if isinstance(content, bytes):
            digest = digest or Digest.of(content)
            size = len(content)
        elif isinstance(content, Path):
            size = content.stat().st_size
            digest = digest or file_digest(content)
        if digest is None:
            raise ValueError("push_blob of a stream needs the blob's digest")
        return await uploads.push_blob(
            self.session, self.name, content, _digest(digest), size,
            mount_from=mount_from, chunk_size=chunk_size, on_bytes=on_bytes,
        )  # fmt: skip

    async def mount_blob(self, digest: Digest | str, source: str) -> bool:
        """Link a blob from `source` (a repository of this registry); False if the registry
        would not (the upload session it opened instead is left to expire)."""
        return await uploads.mount_only(self.session, self.name, _digest(digest), source)

    # --- tags and referrers ---------------------------------------------------------------

    def tags(self, page_size: int | None = None) -> AsyncIterator[str]:
        """Every tag, following the registry's `Link` pages."""
        query = f"?n={page_size}" if page_size else ""
        return pages(self.session, f"/v2/{self.name}/tags/list{query}", "tags", self._pull,
                     f"tags of {self.session.registry}/{self.name}")  # fmt: skip

    async def referrers(
        self, digest: Digest | str, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """Manifests whose subject is `digest`: the referrers API, or the fallback tag
        `<alg>-<hex>` on registries without it."""
        subject = _digest(digest)
        query = f"?artifactType={artifact_type}" if artifact_type else ""
        what = f"referrers of {self.session.registry}/{self.name}@{subject}"
        found: list[Descriptor] = []
        path: str | None = f"/v2/{self.name}/referrers/{subject}{query}"
        while path is not None:
            response = await self.session.request(
                "GET", path, scopes=self._pull, what=what, expect=(200, 404),
                headers={"Accept": mediatypes.OCI_INDEX},
            )  # fmt: skip
            if response.status_code == 404 and not found:
                found = await self._referrers_by_tag(subject)
                break
            index = Index.parse(json_object(response.content, what), mediatypes.OCI_INDEX)
            found += index.manifests
            path = next_link(response.headers.get("link"))
        if artifact_type:
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    async def _referrers_by_tag(self, subject: Digest) -> list[Descriptor]:
        try:
            manifest = await self.manifest(referrers_tag(subject), accept=mediatypes.OCI_INDEX)
        except NotFound:
            return []
        return list(manifest.index().manifests)

    async def _add_to_referrers_tag(
        self, subject: Digest, descriptor: Descriptor, body: bytes
    ) -> None:
        document = json.loads(body)
        artifact_type = document.get("artifactType") or document.get("config", {}).get("mediaType")
        entry = Descriptor(
            descriptor.media_type, descriptor.digest, descriptor.size,
            document.get("annotations") or None, artifact_type,
        )  # fmt: skip
        existing = await self._referrers_by_tag(subject)
        if any(d.digest == entry.digest for d in existing):
            return
        index = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [d.to_json() for d in (*existing, entry)],
        }
        await self.put_manifest(
            json.dumps(index).encode(), mediatypes.OCI_INDEX, referrers_tag(subject)
        )


def referrers_tag(subject: Digest) -> str:
    """The distribution-spec's fallback tag for a subject's referrers."""
    return f"{subject.algorithm}-{subject.hex}"[:128]


def _digest(value: Digest | str) -> Digest:
    return value if isinstance(value, Digest) else Digest.parse(value)


def _digest_of_reference(reference: str | Digest) -> Digest | None:
    if isinstance(reference, Digest):
        return reference
    try:
        return Digest.parse(reference) if ":" in reference else None
    except InvalidDigest:
        return None


def _header_digest(headers: object) -> Digest | None:
    value = getattr(headers, "get", lambda _key: None)("docker-content-digest")
    if not isinstance(value, str):
        return None
    try:
        return Digest.parse(value.strip())
    except InvalidDigest:
        return None


def _subject(body: bytes) -> Digest | None:
    try:
        document = json.loads(body)
        return Digest.parse(document["subject"]["digest"])
    except (*NOT_JSON, KeyError, TypeError, InvalidDigest):
        return None


def file_digest(path: Path) -> Digest:
    """A file's sha256, read in pieces."""
    hasher = new_hasher("sha256")
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            hasher.update(block)
    return Digest("sha256", hasher.hexdigest())
