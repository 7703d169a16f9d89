"""Resumable uploads: the upload step in chunks, each with ``Content-Range``.

Chunks come in order, each starting where the bytes received so far end, so a
client that lost a response asks (GET on the upload URL) and goes on from
there. Each chunk is durable before it is acknowledged; the running sha256 is
kept between chunks and rebuilt from the storage after a restart; the last
chunk moves the file into place, after which ``complete`` works as usual.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import AsyncIterator

from ..base import FileRecords, ResumableWrites
from ..errors import ApiError, Conflict, PayloadTooLarge
from ..registry import Registry, UploadRow
from ..settings import Settings
from ..sizes import human_sizes
from ..sources import Source
from .checks import check_size_fits, too_large_for
from .sessions import UploadSessions
from .storing import upload_record

MAX_CHUNK_BYTES = 64 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d{1,18})-(\d{1,18})/(\d{1,18})")


def chunk_size_for(source: Source, settings: Settings) -> int:
    """The chunk size the upload page sends large files to ``source`` in; 0 when
    its storage takes whole files only."""
    if not isinstance(source.storage, ResumableWrites):
        return 0
    return max(1, min(settings.upload_chunk_size, MAX_CHUNK_BYTES))


async def receive_chunk(registry: Registry, sessions: UploadSessions, source: Source,
                        upload: UploadRow, content_range: str,
                        stream: AsyncIterator[bytes]) -> UploadRow:
    """Append one chunk (``Content-Range: bytes START-END/TOTAL``) to a resumable
    upload. Chunks come in order: each starts where the bytes received so far
    end, so a retried, overlapping or skipped-ahead chunk is refused (409, with
    ``received`` saying where to go on from). The last chunk moves the file
    into place. Returns the updated upload."""
    storage = source.storage
    if not isinstance(storage, ResumableWrites):
        raise ApiError(f"Source {source.slug!r} does not take uploads in chunks: "
                       "send the whole file in one request, without Content-Range")
    start, end, total = parse_content_range(content_range)
    token, received = upload.token, upload.received_bytes
    if upload.status == "uploaded":
        raise Conflict("Every byte of this upload is in: complete it", received=received)
    declared = upload.declared_size
    if declared is not None and total != declared:
        raise ApiError(f"Content-Range says the file is {total} bytes but {declared} bytes "
                       "were declared")
    if total > source.max_file_size:
        raise too_large_for(source, total)
    length = end - start + 1
    if length > MAX_CHUNK_BYTES:
        shown, limit = human_sizes(length, MAX_CHUNK_BYTES)
        raise PayloadTooLarge(f"The chunk is {shown}; chunks may be at most {limit}",
                              received=received)
    if start != received:
        raise Conflict(f"Chunk out of order: {_out_of_order(start, end, received)}; send the "
                       f"chunk starting at byte {received}", received=received)
    if received == 0:
        await check_size_fits(source, total)
    with sessions.receiving(token, "A chunk for this upload is already being received",
                            received=received):
        try:
            sha256 = await _running_sha256(registry, sessions, storage, upload)
            written = await storage.write_chunk(upload.file_id, start, _exactly(stream, length),
                                                sha256)
            if written != length:
                raise ApiError(f"The chunk ended after {written} of its {length} bytes; send "
                               f"it again from byte {received}", received=received)
            if start + written == total:
                await _finish(storage, upload)
        except BaseException:
            sessions.forget(token)
            raise
        received = start + written
        if received < total:
            sessions.chunk_hashes[token] = (received, sha256)
            await registry.uploads.record_chunk(token, received, total)
            return replace(upload, received_bytes=received, declared_size=total,
                           content_hash=None)
        sessions.forget(token)
        content_hash = "sha256:" + sha256.hexdigest()
        await registry.uploads.record_received(token, received, content_hash)
    return replace(upload, status="uploaded", received_bytes=received, declared_size=total,
                   content_hash=content_hash)


def parse_content_range(value: str) -> tuple[int, int, int]:
    """(start, end, total) of ``bytes START-END/TOTAL``, END inclusive."""
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if not match:
        raise ApiError(f"Content-Range {value!r} is not of the form 'bytes START-END/TOTAL' "
                       "(END inclusive, TOTAL the whole file's size)")
    start, end, total = map(int, match.groups())
    if start > end or end >= total:
        raise ApiError(f"Content-Range {value!r} is not a range inside a {total}-byte file")
    return start, end, total


def progress(sessions: UploadSessions, upload: UploadRow) -> dict:
    """Where a resumable upload stands: bytes received, and the size if known."""
    status = "receiving" if upload.token in sessions.in_progress else upload.status
    return {"upload_token": upload.token, "received": upload.received_bytes,
            "size": upload.declared_size, "status": status,
            "content_hash": upload.content_hash}


def _out_of_order(start: int, end: int, received: int) -> str:
    if end < received:
        return f"bytes {start}-{end} were already received"
    if start < received:
        return f"bytes {start}-{end} overlap the {received} bytes already received"
    return f"bytes {start}-{end} skip ahead of the {received} bytes received"


async def _exactly(stream: AsyncIterator[bytes], length: int) -> AsyncIterator[bytes]:
    """The stream, refusing a body longer than its Content-Range says."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > length:
            raise PayloadTooLarge(f"The chunk's body is longer than its Content-Range "
                                  f"({length} bytes)")
        yield chunk


async def _running_sha256(registry: Registry, sessions: UploadSessions,
                          storage: ResumableWrites, upload: UploadRow):
    """The sha256 of the bytes received so far (a copy: a failed chunk must not
    spoil it); recomputed from the storage after a restart."""
    token, received = upload.token, upload.received_bytes
    known = sessions.chunk_hashes.get(token)
    if known and known[0] == received:
        return known[1].copy()
    sha256 = await storage.spooled_sha256(upload.file_id, received) if received else None
    if sha256 is None:
        if received:
            await registry.uploads.restart(token)
            raise Conflict(f"The {received} bytes received for this upload were lost; send "
                           "the file again from byte 0", received=0)
        sha256 = hashlib.sha256()
    return sha256


async def _finish(storage: ResumableWrites, upload: UploadRow) -> None:
    """Move the complete upload into place, with its record where the storage keeps one."""
    if isinstance(storage, FileRecords):
        await storage.finish_chunks(upload.file_id, upload.path, record=upload_record(upload))
    else:
        await storage.finish_chunks(upload.file_id, upload.path)
