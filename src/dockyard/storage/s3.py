"""Objects in an S3-compatible store (AWS, SeaweedFS, MinIO, Ceph RGW, Swift's s3api).

Blobs are plain objects. An upload is pieces of at most `part_size` (see s3_parts): memory
stays at one part per upload in flight, and `compose` joins the pieces inside the store with
CopyObject or UploadPartCopy, never through the registry.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from dockyard.config import STORE_TIMEOUT_SECONDS, S3Settings
from dockyard.storage.base import NotFound, ObjectInfo, Piece, StorageDriver, first_chunk
from dockyard.storage.s3_client import ClientHolder
from dockyard.storage.s3_parts import MAX_PART, MAX_PARTS, MIN_PART, can_copy_parts, part_ranges

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

READ_CHUNK = 1024 * 1024
# DeleteObjects takes at most this many keys per request.
DELETE_BATCH = 1000
# Part copies run inside the store; a few at once shorten the publish of a large blob.
COPY_CONCURRENCY = 4
CONTENT_TYPE = "application/octet-stream"
_MISSING = {"404", "NoSuchKey", "NotFound"}

T = TypeVar("T")


class S3Driver(StorageDriver):
    name = "s3"

    def __init__(
        self, settings: S3Settings, page_size: int = 1000, timeout: float = STORE_TIMEOUT_SECONDS
    ) -> None:
        if not settings.bucket:
            raise ValueError("storage.s3.bucket is required for the S3 driver")
        self.bucket = settings.bucket
        self.prefix = f"{settings.prefix}/" if settings.prefix else ""
        self.part_size = settings.part_size
        self.page_size = page_size  # keys per ListObjectsV2 page; small in tests
        self._clients = ClientHolder(settings, timeout)

    def _object(self, key: str) -> str:
        return self.prefix + key

    async def size(self, key: str) -> int | None:
        return await self._head(self._object(key))

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        if length == 0:
            if await self.size(key) is None:
                raise NotFound(key)
            return
        async for chunk in self._get(self._object(key), offset, length):
            yield chunk

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        name = self._object(key)
        parts = _parts(chunks, self.part_size)
        first = await anext(parts, b"")
        second = await anext(parts, None)
        if second is None:  # one part or less: one PUT
            await self._put(name, first)
            return len(first)
        return await self._multipart(name, _chain([first, second], parts))

    async def append(
        self, pieces: Sequence[Piece], key: str, chunks: AsyncIterable[bytes]
    ) -> list[Piece]:
        body = aiter(chunks)
        first = await first_chunk(body)
        if first is None:
            return list(pieces)
        kept = list(pieces)
        carried = b""
        if kept and kept[-1].size < MIN_PART:
            # Too small to be anything but the last part: its bytes go in front of the new ones.
            carried = await self._read_all(self._object(kept.pop().key))
        written: list[Piece] = []

        async def put(data: bytes) -> None:  # one at a time: the numbers follow each other
            piece = Piece(f"{key}/{len(written):06d}", len(data))
            await self._put(self._object(piece.key), data)
            written.append(piece)

        await _pipelined(_parts(_chain([carried, first], body), self.part_size), put)
        return kept + written

    async def compose(self, pieces: Sequence[Piece], destination: str) -> None:
        if not can_copy_parts(pieces):
            # Only pieces not made by `append` can be this small: join them the slow way.
            await super().compose(pieces, destination)
            return
        name = self._object(destination)
        s3 = await self._s3()
        if not pieces:
            await self._put(name, b"")
        elif len(pieces) == 1 and pieces[0].size <= MAX_PART:
            await self._copy(
                pieces[0].key,
                s3.copy_object(
                    Bucket=self.bucket,
                    Key=name,
                    CopySource={"Bucket": self.bucket, "Key": self._object(pieces[0].key)},
                ),
            )
        else:
            await self._copy_parts(name, pieces)

    async def delete(self, key: str) -> None:
        name = self._object(key)
        batch: builtins.list[str] = []
        async for listed, _, _ in self._list_objects(name):
            if listed == name or listed.startswith(name + "/"):
                batch.append(listed)
            if len(batch) == DELETE_BATCH:
                await self._delete_names(batch)
                batch = []
        await self._delete_names(batch)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        async for info in self.list_info(prefix):
            yield info.key

    async def list_info(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        # A prefix names a directory, as on the filesystem: "uploads" lists "uploads/...".
        directory = prefix.strip("/")
        listed_prefix = self.prefix + directory + "/" if directory else self.prefix
        async for name, size, modified in self._list_objects(listed_prefix):
            yield ObjectInfo(name[len(self.prefix) :], size, modified)

    async def delete_many(self, keys: Sequence[str]) -> None:
        await self._delete_names([self._object(key) for key in keys])

    async def abort_incomplete_writes(self, older_than: timedelta) -> int:
        """Abort the multipart uploads under the prefix begun before `older_than` ago: what
        a process killed while publishing a blob leaves (not those of a publish going on)."""
        s3 = await self._s3()
        before = datetime.now(UTC) - older_than
        aborted = 0
        pages = s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        async for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"] >= before:
                    continue
                with contextlib.suppress(ClientError):  # ended meanwhile
                    await s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    async def presigned_url(self, key: str, expires: int) -> str | None:
        s3 = await self._s3()
        return await s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._object(key)},
            ExpiresIn=expires,
        )

    async def close(self) -> None:
        await self._clients.close()

    # The store's operations, by object name (prefix included).

    async def _s3(self) -> S3Client:
        return await self._clients.get()

    async def _head(self, name: str) -> int | None:
        try:
            response = await (await self._s3()).head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return response["ContentLength"]

    async def _get(self, name: str, offset: int, length: int | None) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        ranged = offset > 0 or length is not None
        last = "" if length is None else str(offset + length - 1)
        try:
            if ranged:
                response = await s3.get_object(
                    Bucket=self.bucket, Key=name, Range=f"bytes={offset}-{last}"
                )
            else:
                response = await s3.get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound(name) from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return  # the object exists and ends before offset: no bytes, as a file
            raise
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk

    async def _read_all(self, name: str) -> bytes:
        """A small piece, read back to be written again (at most 5 MiB)."""
        return b"".join([chunk async for chunk in self._get(name, 0, None)])

    async def _put(self, name: str, data: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=CONTENT_TYPE)

    async def _list_objects(self, prefix: str) -> AsyncIterator[tuple[str, int, datetime]]:
        pages = (
            (await self._s3())
            .get_paginator("list_objects_v2")
            .paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
            )
        )
        async for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"], item["Size"], item["LastModified"]

    async def _delete_names(self, names: Sequence[str]) -> None:
        s3 = await self._s3()
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            response = await s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": name} for name in batch], "Quiet": True},
            )
            errors = [e for e in response.get("Errors", []) if e.get("Code") not in _MISSING]
            if errors:
                raise OSError(f"S3 refused to delete {len(errors)} objects: {errors[:3]}")

    async def _multipart(self, name: str, parts: AsyncIterator[bytes]) -> int:
        """Store parts as one object by a multipart upload, one part sent while the next one
        is received; aborted when anything fails, so no part is left behind."""
        s3 = await self._s3()
        upload_id = (
            await s3.create_multipart_upload(Bucket=self.bucket, Key=name, ContentType=CONTENT_TYPE)
        )["UploadId"]
        completed: list[CompletedPartTypeDef] = []
        size = 0

        async def send(data: bytes) -> None:  # one at a time: the numbers follow each other
            nonlocal size
            number = len(completed) + 1
            part = await s3.upload_part(
                Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
            )
            completed.append({"PartNumber": number, "ETag": part["ETag"]})
            size += len(data)

        async with self._aborting(name, upload_id):
            await _pipelined(parts, send)
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": completed},
            )
        return size

    async def _copy_parts(self, name: str, pieces: Sequence[Piece]) -> None:
        """Make the object `name` the pieces' bytes in one step, inside the store."""
        ranges = list(part_ranges(pieces))
        if len(ranges) > MAX_PARTS:
            raise OSError(f"{name}: {len(ranges)} parts, S3 allows {MAX_PARTS}")
        s3 = await self._s3()
        upload_id = (
            await s3.create_multipart_upload(Bucket=self.bucket, Key=name, ContentType=CONTENT_TYPE)
        )["UploadId"]
        limit = asyncio.Semaphore(COPY_CONCURRENCY)

        async def copy(number: int, key: str, first: int, last: int) -> CompletedPartTypeDef:
            async with limit:
                part = await self._copy(
                    key,
                    s3.upload_part_copy(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource={"Bucket": self.bucket, "Key": self._object(key)},
                        CopySourceRange=f"bytes={first}-{last}",
                    ),
                )
            return {"PartNumber": number, "ETag": part["CopyPartResult"]["ETag"]}

        async with self._aborting(name, upload_id):
            parts = await asyncio.gather(
                *(copy(number, *piece) for number, piece in enumerate(ranges, start=1))
            )
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    async def _copy(self, key: str, request: Awaitable[T]) -> T:
        """A server-side copy from key; NotFound when key is missing."""
        try:
            return await request
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound(key) from None
            raise

    @contextlib.asynccontextmanager
    async def _aborting(self, name: str, upload_id: str) -> AsyncIterator[None]:
        try:
            yield
        except BaseException:
            # The first error is the one to report; a multipart upload the abort could not
            # remove holds no visible object (a bucket lifecycle rule clears such leftovers).
            with contextlib.suppress(Exception):
                s3 = await self._s3()
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise


async def _parts(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """The chunks regrouped in parts of `size` bytes, the remainder last (none when empty)."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


async def _chain(leading: Sequence[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in leading:
        yield chunk
    async for chunk in rest:
        yield chunk


async def _pipelined(
    parts: AsyncIterator[bytes], send: Callable[[bytes], Coroutine[Any, Any, None]]
) -> None:
    """Send each part while the next one is received: at most two parts in memory."""
    sending: asyncio.Task[None] | None = None
    try:
        async for part in parts:
            if sending is not None:
                await sending
            sending = asyncio.create_task(send(part))
        if sending is not None:
            await sending
    finally:
        if sending is not None and not sending.done():
            # The body failed: the request in flight ends before the caller goes on.
            await asyncio.wait([sending])


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING
