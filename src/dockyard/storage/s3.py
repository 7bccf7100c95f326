"""Objects in an S3-compatible store (AWS, SeaweedFS, MinIO, Ceph RGW, Swift's s3api).

Published objects (blobs) are plain objects. Objects still being written (uploads) are
chunk objects (see s3_chunks): `write_at` holds at most one part in memory, and
`publish` stitches the chunks together inside the store, never through the registry.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from dockyard.config import S3Settings
from dockyard.storage.base import NotFound, StorageDriver
from dockyard.storage.s3_chunks import (
    MARK,
    MAX_PART,
    MAX_PARTS,
    Chunk,
    chunk_name,
    chunks_prefix,
    logical_name,
    parse_chunks,
    plan_write,
    total_size,
)
from dockyard.storage.s3_client import ClientHolder

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


class S3Driver(StorageDriver):
    name = "s3"

    def __init__(self, settings: S3Settings, page_size: int = 1000) -> None:
        if not settings.bucket:
            raise ValueError("storage.s3.bucket is required for the S3 driver")
        self.bucket = settings.bucket
        self.prefix = f"{settings.prefix}/" if settings.prefix else ""
        self.part_size = settings.part_size
        self.page_size = page_size  # keys per ListObjectsV2 page; small in tests
        self._clients = ClientHolder(settings)

    def _object(self, key: str) -> str:
        if MARK in key:
            raise ValueError(f"key {key!r} contains {MARK!r}, which the S3 driver reserves")
        return self.prefix + key

    async def size(self, key: str) -> int | None:
        name = self._object(key)
        size = await self._head(name)
        if size is not None:
            return size
        chunks = await self._chunks(name)
        return total_size(chunks, key) if chunks else None

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        name = self._object(key)
        if length == 0:
            if await self.size(key) is None:
                raise NotFound(key)
            return
        try:
            # Blobs, the common case, are plain objects: one GET, no listing.
            async for piece in self._get(name, offset, length):
                yield piece
            return
        except NotFound:
            pass
        chunks = await self._chunks(name)
        if not chunks:
            raise NotFound(key) from None
        total_size(chunks, key)
        end = None if length is None else offset + length
        for chunk in chunks:
            if chunk.end <= offset or (end is not None and chunk.start >= end):
                continue
            start = max(offset - chunk.start, 0)
            stop = chunk.size if end is None else min(end - chunk.start, chunk.size)
            async for piece in self._get(chunk.name, start, stop - start):
                yield piece

    async def write_at(self, key: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        name = self._object(key)
        existing = await self._chunks(name)
        plan = plan_write(existing, offset, key)
        await self._delete_names([chunk.name for chunk in plan.dropped])
        if not existing and offset == 0:
            # A plain object under the key (published there) is replaced, not appended to.
            await (await self._s3()).delete_object(Bucket=self.bucket, Key=name)
        body = aiter(chunks)
        first = await _first_piece(body)
        carried = plan.carried
        if first is None and (carried is None or carried.end == offset):
            # Nothing new and nothing to cut: leave the chunks as they are (a finishing
            # PUT without a body must not rewrite the last chunk).
            if not plan.kept and carried is None:
                await self._put(chunk_name(name, 0), b"")  # an empty object exists, too
            return offset
        position = offset
        pending = bytearray()
        if carried is not None:
            position = carried.start
            pending += await self._read_all(carried.name, offset - carried.start)
        if first is not None:
            pending += first
        # One part is put while the next one is received: at most two parts in memory.
        putting: asyncio.Task[None] | None = None
        try:
            async for piece in body:
                pending += piece
                while len(pending) >= self.part_size:
                    if putting is not None:
                        await putting
                    part = bytes(pending[: self.part_size])
                    del pending[: self.part_size]
                    putting = asyncio.create_task(self._put(chunk_name(name, position), part))
                    position += self.part_size
            if putting is not None:
                await putting
        finally:
            if putting is not None and not putting.done():
                # The body failed: the put in flight must end before the caller retries.
                await asyncio.wait([putting])
        if pending:
            await self._put(chunk_name(name, position), bytes(pending))
            position += len(pending)
        return position

    async def publish(self, source: str, destination: str) -> None:
        source_name, destination_name = self._object(source), self._object(destination)
        chunks = await self._chunks(source_name)
        if chunks:
            total_size(chunks, source)
        else:
            size = await self._head(source_name)
            if size is None:
                raise NotFound(source)
            chunks = [Chunk(0, size, source_name)]
        await self._compose(destination_name, chunks)
        await self._delete_names([chunk.name for chunk in chunks])

    async def delete(self, key: str) -> None:
        name = self._object(key)
        batch: builtins.list[str] = []
        async for listed, _ in self._list_objects(name):
            if listed == name or listed.startswith((name + "/", chunks_prefix(name))):
                batch.append(listed)
            if len(batch) == DELETE_BATCH:
                await self._delete_names(batch)
                batch = []
        await self._delete_names(batch)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        # A prefix names a directory, as on the filesystem: "uploads" lists "uploads/...".
        directory = prefix.strip("/")
        listed_prefix = self.prefix + directory + "/" if directory else self.prefix
        previous = None
        async for name, _ in self._list_objects(listed_prefix):
            # The chunks of one key are listed one after another: report the key once.
            key = logical_name(name)[len(self.prefix) :]
            if key != previous:
                previous = key
                yield key

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
            async for piece in body.iter_chunks(READ_CHUNK):
                yield piece

    async def _read_all(self, name: str, length: int) -> bytes:
        """A small prefix of a chunk, read back to be rewritten (at most one part)."""
        return b"".join([piece async for piece in self._get(name, 0, length)])

    async def _put(self, name: str, data: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=CONTENT_TYPE)

    async def _chunks(self, name: str) -> Sequence[Chunk]:
        return parse_chunks([item async for item in self._list_objects(chunks_prefix(name))])

    async def _list_objects(self, prefix: str) -> AsyncIterator[tuple[str, int]]:
        pages = (
            (await self._s3())
            .get_paginator("list_objects_v2")
            .paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
            )
        )
        async for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"], item["Size"]

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

    async def _compose(self, destination: str, chunks: Sequence[Chunk]) -> None:
        """Make destination the chunks' bytes in one step, inside the store."""
        s3 = await self._s3()
        if len(chunks) == 1 and chunks[0].size <= MAX_PART:
            await s3.copy_object(
                Bucket=self.bucket,
                Key=destination,
                CopySource={"Bucket": self.bucket, "Key": chunks[0].name},
            )
            return
        ranges = list(_part_ranges(chunks))
        if len(ranges) > MAX_PARTS:
            raise OSError(f"{destination}: {len(ranges)} parts, S3 allows {MAX_PARTS}")
        upload = await s3.create_multipart_upload(
            Bucket=self.bucket, Key=destination, ContentType=CONTENT_TYPE
        )
        upload_id = upload["UploadId"]
        limit = asyncio.Semaphore(COPY_CONCURRENCY)

        async def copy(number: int, name: str, first: int, last: int) -> CompletedPartTypeDef:
            async with limit:
                part = await s3.upload_part_copy(
                    Bucket=self.bucket,
                    Key=destination,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": name},
                    CopySourceRange=f"bytes={first}-{last}",
                )
            return {"PartNumber": number, "ETag": part["CopyPartResult"]["ETag"]}

        try:
            parts = await asyncio.gather(
                *(copy(number, *piece) for number, piece in enumerate(ranges, start=1))
            )
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=destination,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            # The first error is the one to report; a multipart upload the abort could not
            # remove holds no visible object (a bucket lifecycle rule clears such leftovers).
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=destination, UploadId=upload_id
                )
            raise


def _part_ranges(chunks: Sequence[Chunk]) -> Iterator[tuple[str, int, int]]:
    """(object, first byte, last byte) of each part. Only a plain object published again
    can exceed S3's 5 GiB part limit (chunks are at most part_size): it is cut in 1 GiB
    ranges, its remainder last, as parts other than the last must be at least 5 MiB."""
    for chunk in chunks:
        step = chunk.size if chunk.size <= MAX_PART else MAX_PART // 5
        for first in range(0, chunk.size, step):
            yield chunk.name, first, min(first + step, chunk.size) - 1


async def _first_piece(body: AsyncIterator[bytes]) -> bytes | None:
    """The first non-empty piece of a body, or None when it has none."""
    async for piece in body:
        if piece:
            return piece
    return None


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING
