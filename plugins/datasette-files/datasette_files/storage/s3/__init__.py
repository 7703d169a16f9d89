"""The built-in ``s3-compatible`` storage: objects in a bucket of any
S3-compatible service (AWS S3, Cloudflare R2, Tigris, MinIO, Backblaze B2).

The type is ``s3-compatible``, not ``s3``: the published datasette-files-s3
plugin registers ``s3``, and installing it must never swap one implementation
for the other (two classes claiming one type stop start-up, see
``sources.storage_types``). The client is aiobotocore (an optional
dependency, ``datasette-files[s3]``): async, it presigns any operation
(UploadPart too) and speaks the whole API (multipart, CORS, metadata,
CopyObject).

Beyond the specification's methods: ranged and opened reads, file records and
ids in object metadata (stamped by sync into objects other tools stored),
folder walks, moves (copy then delete) and folder markers, stored SHA-256
checksums, health checks, sweeps of abandoned multipart uploads and staged
POSTs, presigned downloads that force ``attachment``, and a check (or
setting) of the bucket's CORS rules at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import mimetypes
import time
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Collection, Optional, Sequence

from ...base import (
    FileMetadata,
    FileMissing,
    FileRecord,
    PathTaken,
    ScannedFolder,
    Storage,
    StorageCapabilities,
    StorageUnavailable,
    StoredId,
)
from ...errors import ConfigError
from ...naming import content_disposition
from . import (budget, cors, errors, keys, moves, reads, records, staging, temporary, walk,
               writes)
from .client import ClientHolder, require_aiobotocore
from .config import S3Config, read_config
from .direct import S3DirectUploads
from .errors import translated

__all__ = ["S3CompatibleStorage"]
log = logging.getLogger("datasette_files")
# HEADs in flight at once for records and hashes of a batch of files.
HEAD_CONCURRENCY = 8
# A writable source's health check writes a probe object at most this often.
WRITE_PROBE_SECONDS = 300


class S3CompatibleStorage(S3DirectUploads, Storage):
    """Files as objects under ``prefix`` in ``bucket``; the path of a file is
    its key without the prefix."""

    storage_type = "s3-compatible"

    def __init__(self) -> None:
        self.config: Optional[S3Config] = None
        self._holder: Optional[ClientHolder] = None
        # Whether the bucket's CORS rules let browsers of cors_origins PUT and
        # GET directly (set at start-up; direct uploads fall back to the server).
        self.cors_ready: bool = False
        # UploadIds of this process's multipart uploads in flight.
        self._writing: set[str] = set()
        # When a health check's write probe last succeeded (monotonic seconds).
        self._written_at = -math.inf
        # How old an unknown multipart upload must be before a sweep aborts it.
        self.stale_upload_seconds: float = temporary.STALE_SECONDS

    # The surface other parts build on (direct uploads) ------------------------

    @property
    def bucket(self) -> str:
        """The bucket's name."""
        return self.config.bucket

    @property
    def prefix(self) -> str:
        """'' or the key prefix every object of this source has, ending in '/'."""
        return self.config.prefix

    def object_key(self, path: str) -> str:
        """The object key of storage path ``path``; UnsafePath for a path that is
        not plain and relative (as the filesystem storage refuses it)."""
        return keys.object_key(self.config.prefix, path)

    def s3(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """``async with storage.s3() as client``: the source's aiobotocore client,
        shared and long-lived (leaving the block does not close it)."""
        return self._holder.client()

    async def close(self) -> None:
        """Close the client's connections (at shutdown)."""
        if self._holder is not None:
            await self._holder.close()

    @property
    def capabilities(self) -> StorageCapabilities:
        proxied = bool(self.config and self.config.proxy_downloads)
        return StorageCapabilities(
            can_upload=True,
            can_delete=True,
            can_list=True,
            can_generate_signed_urls=not proxied,
            requires_proxy_download=proxied,
            max_file_size=self.config.max_file_size if self.config else None,
        )

    async def configure(self, config: dict, get_secret: Callable) -> None:
        require_aiobotocore()
        self.config = await read_config(config, get_secret)
        self._holder = ClientHolder(self.config)

    # The specification's methods ---------------------------------------------

    async def get_file_metadata(self, path: str) -> Optional[FileMetadata]:
        key = self.object_key(path)
        async with self.s3() as client:
            found = await reads.head(client, self.bucket, key, path)
        if found is None:
            return None
        record = records.record_from(found.metadata)
        return FileMetadata(
            path=path, filename=path.rpartition("/")[2],
            content_type=(record.content_type if record and record.content_type
                          else found.content_type or mimetypes.guess_type(path)[0]),
            size=found.size, content_hash=found.sha256)

    async def read_file(self, path: str) -> bytes:
        return b"".join([chunk async for chunk in self.stream_range(path, 0, None)])

    async def read_bytes(self, path: str, num_bytes: int = 2048) -> bytes:
        if num_bytes < 0:
            return await self.read_file(path)
        if num_bytes == 0:
            await self._require(path)
            return b""
        return b"".join([chunk async for chunk in self.stream_range(path, 0, num_bytes - 1)])

    async def stream_file(self, path: str) -> AsyncIterator[bytes]:
        async for chunk in self.stream_range(path, 0, None):
            yield chunk

    async def receive_upload(self, path: str, stream: AsyncIterator[bytes], content_type: str,
                             *, record: Optional[FileRecord] = None) -> FileMetadata:
        key = self.object_key(path)
        # Room for the parts it buffers, from the process's budget (budget.py).
        async with budget.BUDGET.held(writes.HELD_PARTS * self.config.part_size):
            size, content_hash = await writes.put_stream(
                self.s3, self.bucket, key, path, budget.paced(stream, budget.BUDGET),
                content_type or "application/octet-stream",
                records.metadata_for(path, record), self.config.part_size, self._writing,
                self.config.checksums)
        return FileMetadata(path=path, filename=path.rpartition("/")[2],
                            content_type=content_type, content_hash=content_hash, size=size)

    async def delete_file(self, path: str) -> None:
        """Delete the object; its folder is kept (a marker) when it was the
        folder's last key. Only when an object was there: DeleteObject succeeds
        on a missing key too, and the folder of a missing file may have been
        moved or deleted (a marker would bring it back)."""
        key = self.object_key(path)
        async with self.s3() as client:
            if await reads.head(client, self.bucket, key, path) is None:
                return
            with translated(path):
                await client.delete_object(Bucket=self.bucket, Key=key)
        await moves.keep_folder(self.s3, self.bucket, self.prefix, path)

    async def discard_partial(self, path: str) -> None:
        """Delete the object an unfinished upload left, never keeping a folder:
        its bytes were never part of it (``base.PartialDiscards``)."""
        async with self.s3() as client:
            with translated(path):
                await client.delete_object(Bucket=self.bucket, Key=self.object_key(path))

    async def list_files(self, prefix: str = "", cursor: Optional[str] = None,
                         limit: int = 100) -> tuple[list[FileMetadata], Optional[str]]:
        """Files in key order (hidden ones and the server's own left out); the
        cursor is the last path of the previous page."""
        found, next_cursor = await walk.list_page(self.s3, self.bucket, self.prefix,
                                                  prefix or "", cursor, limit)
        return [FileMetadata(path=p, filename=p.rpartition("/")[2],
                             content_type=mimetypes.guess_type(p)[0], size=size)
                for p, size in found], next_cursor

    async def download_url(self, path: str, expires_in: int = 300) -> str:
        return await self.attachment_url(path, path.rpartition("/")[2], None, expires_in)

    # Optional capabilities (datasette_files.base) -------------------------------

    async def attachment_url(self, path: str, filename: str, content_type: Optional[str],
                             expires_in: int = 300) -> str:
        """A presigned GET whose answer is an attachment called ``filename``
        (RFC 6266, with ``filename*``) of type ``content_type``."""
        parameters = {"Bucket": self.bucket, "Key": self.object_key(path),
                      "ResponseContentDisposition": content_disposition(filename)}
        if content_type:
            parameters["ResponseContentType"] = content_type
        async with self.s3() as client:
            return await client.generate_presigned_url("get_object", Params=parameters,
                                                       ExpiresIn=expires_in)

    def stream_range(self, path: str, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        return reads.stream_range(self.s3, self.bucket, self.object_key(path), path, start, end)

    async def open_file(self, path: str) -> reads.OpenObject:
        key = self.object_key(path)
        async with self.s3() as client:
            found = await reads.head(client, self.bucket, key, path)
        if found is None:
            raise FileMissing(f"no file at {path!r} in storage")
        return reads.OpenObject(self.s3, self.bucket, path, found)

    def walk_folders(self, include_hidden: bool = False) -> AsyncIterator[list[ScannedFolder]]:
        return walk.walk_folders(self.s3, self.bucket, self.prefix, include_hidden)

    async def stored_records(self, paths: Sequence[str]) -> dict[str, Optional[FileRecord]]:
        heads = await self._heads(paths, checksums=False)
        return {path: records.record_from(found.metadata) if found else None
                for path, found in heads.items()}

    async def stored_file_ids(self, paths: Sequence[str]) -> dict[str, Optional[StoredId]]:
        heads = await self._heads(paths, checksums=False)
        found: dict[str, Optional[StoredId]] = {}
        for path, head in heads.items():
            file_id = records.file_id_from(head.metadata) if head else None
            found[path] = StoredId(file_id, records.record_from(head.metadata)) \
                if file_id else None
        return found

    async def stamp_file_ids(self, stamps: Sequence[tuple[str, str, FileRecord]]
                             ) -> dict[str, Optional[tuple[int, Optional[int]]]]:
        """CopyObject of each object onto itself with the id and record in its
        metadata (MetadataDirective REPLACE, its Content-Type, headers and
        other user metadata kept; over 5 GiB, a multipart copy): the service
        copies, no byte passes through here. The copy gets a new LastModified:
        CopyObject's answer tells it (a multipart copy's is read with HEAD),
        and the size is the one HEAD saw (CopySourceIfMatch copies no other)."""
        limit = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def one(path: str, file_id: str, record: FileRecord):
            async with limit:
                try:
                    key = self.object_key(path)
                    async with self.s3() as client:
                        found = await reads.head(client, self.bucket, key, path)
                    if found is None:
                        return path, None
                    modified = await moves.copy_object(
                        self.s3, self.bucket, found, key, path, record, self.config.checksums,
                        file_id=file_id, copy_of=False, writing=self._writing)
                    if modified is not None:  # whole seconds, as the walk reports them
                        return path, (found.size, int(modified.timestamp()) * 10**9)
                    async with self.s3() as client:
                        stamped = await reads.head(client, self.bucket, key, path)
                except Exception as ex:  # the file stays, without its id
                    log.warning("datasette-files: cannot keep the id of %s in its metadata: %s",
                                path, type(ex).__name__)
                    return path, None
                return path, (stamped.size, stamped.mtime_ns) if stamped else None

        return dict(await asyncio.gather(*(one(*stamp) for stamp in stamps)))

    async def content_hashes(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        """The SHA-256 the service stored with each object (HeadObject with
        ChecksumMode), without reading it; an object without one (a multipart
        upload's checksum covers its parts, and objects written by other
        tools may have none) is read and hashed here, in bounded chunks."""
        heads = await self._heads(paths, checksums=True)
        digests: dict[str, Optional[str]] = {}
        for path, found in heads.items():
            digests[path] = found.sha256 if found and found.sha256 else (
                await self._streamed_sha256(path) if found else None)
        return digests

    async def move_file(self, path: str, new_path: str, *,
                        record: Optional[FileRecord] = None) -> None:
        await moves.move_file(self.s3, self.bucket, self.prefix, path, new_path, record,
                              self.config.checksums, self._writing)

    async def move_folder(self, path: str, new_path: str) -> None:
        await moves.move_folder(self.s3, self.bucket, self.prefix, path, new_path,
                                self.config.checksums, self._writing)

    async def make_folder(self, path: str) -> None:
        """A zero-byte ``path/`` marker object, as S3 consoles make: the folder
        exists while empty (folders above it exist through its key)."""
        key = keys.folder_prefix(self.prefix, path)
        async with self.s3() as client:
            if await reads.head(client, self.bucket, key[:-1], path) is not None:
                raise PathTaken(f"a file is already at {path!r}")
            with translated(path):
                await client.put_object(Bucket=self.bucket, Key=key, Body=b"",
                                        ContentType=moves.FOLDER_CONTENT_TYPE)

    async def remove_empty_folder(self, path: str) -> bool:
        key = keys.folder_prefix(self.prefix, path)
        async with self.s3() as client:
            with translated(path):
                answer = await client.list_objects_v2(Bucket=self.bucket, Prefix=key,
                                                      MaxKeys=2)
                if any(item["Key"] != key for item in answer.get("Contents", [])):
                    return False
                await client.delete_object(Bucket=self.bucket, Key=key)
        return True

    async def sweep_temporary_files(
            self, live_upload_keys: Callable[[], Awaitable[Collection[str]]]) -> int:
        swept = await temporary.sweep(self.s3, self.bucket, self.prefix, self._writing,
                                      live_upload_keys, self.stale_upload_seconds)
        return swept + await staging.sweep(self.s3, self.bucket, self.prefix,
                                           live_upload_keys, self.stale_upload_seconds)

    async def check_health(self, writable: bool) -> None:
        """HeadBucket; when ``writable``, a probe object written and deleted, at
        most every WRITE_PROBE_SECONDS (health checks poll often, and each
        write is a billed request). A read-only source's bucket is never written."""
        probe = f"{self.prefix}{temporary.PROBE_PREFIX}{uuid.uuid4().hex}"
        try:
            async with self.s3() as client:
                with translated(self.bucket):
                    await client.head_bucket(Bucket=self.bucket)
                    if writable and time.monotonic() - self._written_at > WRITE_PROBE_SECONDS:
                        await client.put_object(Bucket=self.bucket, Key=probe, Body=b"")
                        await client.delete_object(Bucket=self.bucket, Key=probe)
                        self._written_at = time.monotonic()
        except StorageUnavailable:
            raise
        except Exception as ex:
            raise StorageUnavailable(
                f"bucket {self.bucket} cannot be {'written' if writable else 'read'}: "
                f"{type(ex).__name__}") from ex

    async def check_at_start(self, writable: bool) -> None:
        """The bucket must exist (a typo in its name stops start-up); its CORS
        rules are checked, or set with ``manage_cors`` on a writable source.
        An unreachable service only warns: the health check reports it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            async with self.s3():
                pass  # opened now, so that its own errors are told apart
        except BotoCoreError as ex:  # a named profile that is missing, say
            raise ConfigError(f"the S3 client could not be made: {ex}") from None
        async with self.s3() as client:
            try:
                await client.head_bucket(Bucket=self.bucket)
            except ClientError as ex:
                if errors.error_code(ex) in ("404", "NoSuchBucket", "NotFound"):
                    raise ConfigError(f"bucket {self.bucket!r} does not exist at "
                                      f"{self.config.endpoint_url or 'the AWS endpoint'}")
                log.warning("datasette-files: bucket %s answered %s at start-up", self.bucket,
                            errors.error_code(ex))
                return
            except Exception as ex:
                log.warning("datasette-files: bucket %s cannot be reached at start-up (%s)",
                            self.bucket, type(ex).__name__)
                return
            self.cors_ready = await cors.prepare(client, self.bucket, self.config.cors_origins,
                                                 self.config.manage_cors and writable)

    # Internals -------------------------------------------------------------------

    async def _require(self, path: str) -> None:
        if await self.get_file_metadata(path) is None:
            raise FileMissing(f"no file at {path!r} in storage")

    async def _heads(self, paths: Sequence[str], checksums: bool) -> dict:
        """``path -> Head`` (None for a path that is gone, unsafe or unreadable),
        a few HEADs at a time."""
        limit = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def one(path: str):
            async with limit:
                try:
                    key = self.object_key(path)
                    async with self.s3() as client:
                        return path, await reads.head(client, self.bucket, key, path,
                                                      checksums=checksums)
                except Exception:
                    return path, None

        return dict(await asyncio.gather(*(one(path) for path in paths)))

    async def _streamed_sha256(self, path: str) -> Optional[str]:
        digest = hashlib.sha256()
        try:
            async for chunk in self.stream_range(path, 0, None):
                digest.update(chunk)
        except Exception as ex:
            log.warning("datasette-files: cannot hash %s: %s", path, type(ex).__name__)
            return None
        return f"sha256:{digest.hexdigest()}"
