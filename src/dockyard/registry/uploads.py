"""Upload sessions: bytes arrive in one request or many, are hashed as they come, and
become a blob only once their digest is verified."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Connection

from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.oci import resumable_sha256
from dockyard.oci.digest import Digest, Hasher, new_hasher
from dockyard.registry import metadata
from dockyard.registry.blobs import BlobInfo, BlobStore, record_and_link
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import Origin, current_origin
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.policies.quotas import Quotas, check_bytes
from dockyard.storage import NotFound, Piece, StorageDriver

# Bytes are hashed and written in blocks of this size: big enough that the hops to a
# worker thread cost nothing, small enough to bound memory per upload.
BLOCK = 1024 * 1024
# Hashed while the bytes stream in; other algorithms are hashed by re-reading at the end.
STREAMING_ALGORITHM = "sha256"
# A finish whose blob a collector is deleting waits for that (one batch of deletes) this long
# at most, looking again every PIN_RETRY seconds.
PIN_WAIT_SECONDS = 60.0
PIN_RETRY = 0.05


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    repository: str
    size: int
    # The SHA-256 state after `size` bytes, saved so that any process can continue the hash.
    hash_state: bytes | None = None
    # The storage objects holding the bytes, in order.
    pieces: tuple[Piece, ...] = ()


@dataclass(slots=True)
class _HashState:
    size: int
    hasher: Hasher


def upload_directory(upload_id: str) -> str:
    return f"uploads/{upload_id}"


def new_piece_key(upload_id: str) -> str:
    """Where one request writes its bytes: a name no other request uses, so that a request
    that loses the race to record its bytes cannot have changed the ones that won."""
    return f"{upload_directory(upload_id)}/{uuid.uuid4().hex}"


class UploadService:
    def __init__(
        self,
        database: Database,
        driver: StorageDriver,
        blobs: BlobStore,
        quotas: Quotas | None = None,
    ) -> None:
        self.database = database
        self.driver = driver
        self.blobs = blobs
        self.quotas = quotas
        # The running hash of each session this process has seen; a session that moved here
        # from another process (or survived a restart) resumes from the state saved with it,
        # or, without one, is re-hashed from storage once.
        self._hashes: dict[str, _HashState] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self, name: str) -> Upload:
        if self.quotas is not None:
            await self.quotas.before_repository(name)
        upload_id = str(uuid.uuid4())
        await self.database.run(_create, name, upload_id)
        self._hashes[upload_id] = _HashState(0, _streaming_hasher())
        return Upload(upload_id, name, 0)

    async def get(self, name: str, upload_id: str) -> Upload:
        record = await self.database.run(metadata.get_upload, name, upload_id)
        if record is None:
            raise RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id})
        return Upload(record.id, record.repository, record.size, record.hash_state, record.pieces)

    async def append(
        self,
        name: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        start: int | None,
        length: int | None = None,
    ) -> Upload:
        """Add body to the session; `start`, from Content-Range, must be where it ends now;
        `length`, from Content-Length, is checked against the namespace's quota first."""
        async with self._lock(upload_id):
            return await self._append(name, upload_id, body, start, length)

    async def finish(
        self,
        name: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        digest: Digest,
        start: int | None = None,
        length: int | None = None,
        verified: Callable[[], None] | None = None,
    ) -> BlobInfo:
        """Add the last chunk (`start`, `length` as in `append`), verify the digest, publish
        the blob. `verified` is called once the bytes matched the digest, before the blob is
        made durable and recorded (a mirror passes the bytes on from then: decision 0025)."""
        # One lock from the last chunk to the publish: no other request on the session can
        # grow, finish or cancel it between the digest check and the blob becoming visible.
        async with self._lock(upload_id):
            upload = await self._append(name, upload_id, body, start, length, digest)
            try:
                actual = await self._digest(upload, digest.algorithm)
            except NotFound:  # algorithms other than SHA-256 re-read the pieces
                raise await self._pieces_gone(name, upload) from None
            if actual != digest.hex:
                await self._forget(upload.id)
                raise RegistryError(
                    ErrorCode.DIGEST_INVALID,
                    detail={"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"},
                )
            if verified is not None:
                verified()
            # The size is known now, whatever the client declared: the last check of the quota.
            await self._within_quota(name, upload.id, upload.size, str(digest))
            # Pinned first: no collector deletes the blob's object from here until the
            # transaction that records it has committed.
            await self._pin(name, upload, digest)
            # The session's row outlives the pieces' composition into the blob's object, and
            # goes in the transaction that records the blob: a process killed at any moment
            # leaves the session (the client resends the PUT) or the blob, never neither.
            try:
                await self.blobs.compose(digest, upload.size, upload.pieces)
            except NotFound:
                raise await self._pieces_gone(name, upload) from None
            # The lock above is per process; the row is shared. Deleting it claims the session:
            # of several processes finishing it at once, exactly one records the blob.
            try:
                published = await self.database.run(
                    _publish,
                    name,
                    upload.id,
                    str(digest),
                    upload.size,
                    self.blobs.events,
                    current_origin(),
                    None if self.quotas is None else self.quotas.defaults,
                )
            except RegistryError:  # over a quota: the object stays for the collector
                await self._forget(upload.id)
                raise
            await self._clear(upload.id)
            if not published:
                raise RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload.id})
            return BlobInfo(digest, upload.size)

    async def cancel(self, name: str, upload_id: str) -> None:
        async with self._lock(upload_id):
            await self.get(name, upload_id)
            # Claimed like a finish: of a cancel and a finish in two processes, one wins.
            if not await self.database.run(metadata.delete_upload, upload_id):
                raise RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id})
            await self._clear(upload_id)

    async def _append(
        self,
        name: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        start: int | None,
        length: int | None = None,
        digest: Digest | None = None,
    ) -> Upload:
        upload = await self.get(name, upload_id)
        if start is not None and start != upload.size:
            raise RegistryError(
                ErrorCode.RANGE_INVALID,
                f"chunk starts at {start}, the upload holds {upload.size} bytes",
                headers=_range_headers(upload.size),
            )
        if length:  # before a byte is stored
            await self._within_quota(
                name, upload.id, upload.size + length, None if digest is None else str(digest)
            )
        try:
            # Without a saved hash state, this re-reads the pieces.
            state = await self._hash_state(upload)
        except NotFound:
            raise await self._pieces_gone(name, upload) from None
        key = new_piece_key(upload.id)
        try:
            async with aclosing(_hashed(body, state)) as blocks:
                pieces = await self.driver.append(upload.pieces, key, blocks)
        except BaseException as failure:
            # The hasher took bytes that are not the session's: the next request starts
            # again from the state recorded with the session.
            self._hashes.pop(upload.id, None)
            await self._discard(key)
            if isinstance(failure, NotFound):
                raise await self._pieces_gone(name, upload) from None
            raise
        kept = _common_prefix(upload.pieces, pieces)
        moved = await self.database.run(
            metadata.set_upload_progress,
            upload.id,
            upload.size,
            pieces,
            kept,
            _saved(state.hasher),
        )
        if not moved:
            # Another request (in another process: the lock is per process) added bytes first.
            # This one loses, as a chunk out of order would, and its pieces go unrecorded.
            self._hashes.pop(upload.id, None)
            await self._discard(key)
            raise _moved((await self.get(name, upload_id)).size)
        for replaced in upload.pieces[kept:]:
            await self._discard(replaced.key)
        size = sum(piece.size for piece in pieces)
        return Upload(upload.id, name, size, _saved(state.hasher), tuple(pieces))

    async def _pin(self, name: str, upload: Upload, digest: Digest) -> None:
        """Pin the blob for this session (metadata.pin_blob), waiting out a collector that is
        deleting it (its object must be gone before this session writes it again)."""
        deadline = asyncio.get_running_loop().time() + PIN_WAIT_SECONDS
        while True:
            state = await self.database.run(metadata.pin_blob, upload.id, str(digest), upload.size)
            if state == "pinned":
                return
            if state == "ended":
                raise RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload.id})
            if asyncio.get_running_loop().time() > deadline:
                raise RegistryError(
                    ErrorCode.UNAVAILABLE, "the blob is being garbage-collected; try again"
                )
            await asyncio.sleep(PIN_RETRY)

    async def purge_stale(self, older_than: timedelta) -> int:
        """Remove sessions untouched for `older_than`; with several processes (or nodes) on one
        database, each session is purged by the one whose DELETE removed its row, once."""
        purged = 0
        stale = await self.database.run(metadata.stale_uploads, metadata.now() - older_than)
        for upload_id in stale:
            if await self.database.run(metadata.delete_upload, upload_id):
                await self.driver.delete(upload_directory(upload_id))
                self._hashes.pop(upload_id, None)
                purged += 1
        return purged

    async def _within_quota(self, name: str, upload_id: str, size: int, digest: str | None) -> None:
        """The namespace's byte quota allows a blob of `size`; refused, the session ends: a
        client that was denied does not come back for it, and nothing of it stays."""
        if self.quotas is None:
            return
        try:
            await self.quotas.before_bytes(name, size, digest)
        except RegistryError:
            await self._forget(upload_id)
            raise

    async def _pieces_gone(self, name: str, upload: Upload) -> RegistryError:
        """The error for a request that found a piece of the session gone: another request
        recorded its bytes and deleted the piece it replaced (this one lost), or the session's
        bytes are gone, and with them the session."""
        current = await self.get(name, upload.id)
        if current.size != upload.size:
            return _moved(current.size)
        await self._forget(upload.id)
        return _vanished(upload.id)

    async def _forget(self, upload_id: str) -> None:
        await self.database.run(metadata.delete_upload, upload_id)
        await self.driver.delete(upload_directory(upload_id))
        self._hashes.pop(upload_id, None)
        self._locks.pop(upload_id, None)

    async def _clear(self, upload_id: str) -> None:
        """Drop what is left of a session whose row is gone. A failure to delete its pieces is
        not the request's: they stay for the garbage collector."""
        self._hashes.pop(upload_id, None)
        self._locks.pop(upload_id, None)
        with contextlib.suppress(Exception):
            await self.driver.delete(upload_directory(upload_id))

    async def _discard(self, key: str) -> None:
        """Delete pieces no session records. A failure is not the request's: what it leaves
        goes with the session's directory when the session ends."""
        with contextlib.suppress(Exception):
            await self.driver.delete(key)

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    async def _hash_state(self, upload: Upload) -> _HashState:
        state = self._hashes.get(upload.id)
        if state is not None and state.size == upload.size:
            return state
        if upload.hash_state is not None and resumable_sha256.available():
            hasher: Hasher = resumable_sha256.ResumableSha256(upload.hash_state)
        else:
            hasher = await self._rehash(upload, STREAMING_ALGORITHM)
        state = self._hashes[upload.id] = _HashState(upload.size, hasher)
        return state

    async def _digest(self, upload: Upload, algorithm: str) -> str:
        if algorithm == STREAMING_ALGORITHM:
            return (await self._hash_state(upload)).hasher.hexdigest()
        return (await self._rehash(upload, algorithm)).hexdigest()

    async def _rehash(self, upload: Upload, algorithm: str) -> Hasher:
        hasher = _streaming_hasher() if algorithm == STREAMING_ALGORITHM else new_hasher(algorithm)
        for piece in upload.pieces:
            async for chunk in self.driver.read(piece.key, 0, piece.size):
                await asyncio.to_thread(hasher.update, chunk)
        return hasher


def _streaming_hasher() -> Hasher:
    if resumable_sha256.available():
        return resumable_sha256.ResumableSha256()
    return new_hasher(STREAMING_ALGORITHM)


def _saved(hasher: Hasher) -> bytes | None:
    return hasher.state() if isinstance(hasher, resumable_sha256.ResumableSha256) else None


def _create(connection: Connection, name: str, upload_id: str) -> None:
    metadata.create_upload(connection, upload_id, metadata.ensure_repository(connection, name))


def _publish(
    connection: Connection,
    name: str,
    upload_id: str,
    digest: str,
    size: int,
    events: EventLog,
    origin: Origin | None,
    quotas: QuotaSettings | None,
) -> bool:
    """End the session, record its composed blob and the push event, in one transaction;
    False, and nothing changed, when the session had ended already (another process finished
    or cancelled it). DENIED, and nothing changed, over the namespace's byte quota."""
    if not metadata.delete_upload(connection, upload_id):
        return False
    if quotas is not None:
        check_bytes(connection, name, size, quotas, digest)
    record_and_link(connection, name, digest, size, events, origin)
    return True


async def _hashed(body: AsyncIterable[bytes], state: _HashState) -> AsyncGenerator[bytes, None]:
    """The body's blocks, each hashed in a worker thread (the hash releases the GIL) while it
    is being written and the next one received. One after the other, hashing, writing and
    receiving held a 1 GiB upload to ~470 MB/s on the 2-CPU development machine; overlapped,
    600-700 MB/s (docs/benchmarks.md)."""
    hashing: asyncio.Future[None] | None = None
    try:
        async for block in _blocks(body):
            if hashing is not None:
                await hashing  # the hash takes blocks in order, one at a time
            hashing = asyncio.ensure_future(asyncio.to_thread(state.hasher.update, block))
            hashing.add_done_callback(partial(_count, state, len(block)))
            yield block
        if hashing is not None:
            await hashing
    finally:
        if hashing is not None and not hashing.done():
            # The write failed or the client left: let the hash finish before the session's
            # lock is released, so that no thread still updates the hasher behind the next
            # request (the caller closes this generator with `aclosing`).
            await asyncio.wait([hashing])


def _count(state: _HashState, length: int, done: asyncio.Future[None]) -> None:
    """`state.size` counts exactly the bytes the hasher has taken."""
    if not done.cancelled() and done.exception() is None:
        state.size += length


async def _blocks(body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Blocks of BLOCK bytes or more (the last one may be shorter), joined with one copy."""
    pending: list[bytes] = []
    size = 0
    async for chunk in body:
        pending.append(chunk)
        size += len(chunk)
        if size >= BLOCK:
            yield b"".join(pending)
            pending.clear()
            size = 0
    if pending:
        yield b"".join(pending)


def _common_prefix(old: Sequence[Piece], new: Sequence[Piece]) -> int:
    """How many of the old pieces begin the new list unchanged."""
    kept = 0
    for before, after in zip(old, new, strict=False):
        if before != after:
            break
        kept += 1
    return kept


def _moved(size: int) -> RegistryError:
    return RegistryError(
        ErrorCode.RANGE_INVALID,
        f"the upload moved to {size} bytes while this chunk was written",
        headers=_range_headers(size),
    )


def _vanished(upload_id: str) -> RegistryError:
    return RegistryError(
        ErrorCode.BLOB_UPLOAD_UNKNOWN,
        "the upload's stored bytes are gone; start it again",
        detail={"uuid": upload_id},
    )


def _range_headers(size: int) -> dict[str, str]:
    return {"Range": f"0-{max(size - 1, 0)}"}
