"""Streaming an upload's bytes into storage, and the row of a file just stored."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Optional

from ..base import FileMetadata, FileRecord, FileRecords, PartialDiscards, ResumableWrites
from ..clock import now_timestamp
from ..errors import ApiError, PayloadTooLarge
from ..registry import FileRow, UploadRow
from ..sizes import human_size
from ..sources import Source
from .checks import upload_limit

log = logging.getLogger("datasette_files")


SIZE_HINT = (" The size declared in prepare must be the file's exact size: "
             "leave out 'size' when it is not known.")


async def store(source: Source, path: str, content_type: str, declared: Optional[int],
                stream: AsyncIterator[bytes], record: FileRecord) -> FileMetadata:
    """Stream bytes into storage at ``path``, enforcing the declared size and the
    source's limit as they arrive, with ``record`` kept beside them where the
    storage can; the storage's FileMetadata."""
    limit, limit_reason = upload_limit(source, declared)
    too_large = f"Upload exceeds {limit_reason}: {human_size(limit)}."
    if declared is not None and limit == declared:
        too_large += SIZE_HINT
    received = 0

    async def limited() -> AsyncIterator[bytes]:
        nonlocal received
        async for chunk in stream:
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(too_large)
            yield chunk

    storage = source.storage
    if isinstance(storage, FileRecords):
        metadata = await storage.receive_upload(path, limited(), content_type, record=record)
    else:
        metadata = await storage.receive_upload(path, limited(), content_type)
    if declared is not None and received != declared:
        raise size_mismatch(received, declared)
    metadata.size = received
    return metadata


def size_mismatch(received: int, declared: int) -> ApiError:
    # Deliberately strict (COMPATIBILITY.md): a body shorter than declared is
    # usually a truncated file, one longer would pass prepare's checks unseen.
    return ApiError(f"Received {received} bytes but the upload declared {declared} bytes."
                    + SIZE_HINT)


async def read_exactly(stream: AsyncIterator[bytes], declared: int) -> bytes:
    """The whole body, which must be exactly ``declared`` bytes (the server
    delivers no more than Content-Length)."""
    data = b"".join([chunk async for chunk in stream])
    if len(data) != declared:
        raise size_mismatch(len(data), declared)
    return data


async def discard_partial(source: Source, path: str, upload_key: Optional[str] = None) -> None:
    """Remove whatever a failed receive may have left at ``path`` (and in the
    resumable upload ``upload_key``'s spool)."""
    if not source.capabilities.can_delete:
        return
    try:
        storage = source.storage
        await asyncio.shield(storage.discard_partial(path) if isinstance(
            storage, PartialDiscards) else storage.delete_file(path))
        if upload_key is not None and isinstance(source.storage, ResumableWrites):
            await asyncio.shield(source.storage.discard_chunks(upload_key))
    except Exception:
        log.warning("datasette-files: could not remove partial upload %s", path)


def new_file_row(file_id: str, source: Source, path: str, filename: str, content_type: str,
                 content_hash: Optional[str], size: int, width: Optional[int],
                 height: Optional[int], uploaded_by: Optional[str], folder: str = "") -> FileRow:
    """The registry row of a file just stored in ``folder``."""
    return FileRow(
        seq=None, id=file_id, source_slug=source.slug, path=path, filename=filename,
        content_type=content_type, content_hash=content_hash, size=size, width=width,
        height=height, uploaded_by=uploaded_by, created_at=now_timestamp(), folder=folder)


def upload_record(upload: UploadRow) -> FileRecord:
    """The record kept beside an upload's bytes."""
    return FileRecord(upload.filename, upload.content_type, upload.actor_id)


def actor_id_of(actor: Optional[dict]) -> Optional[str]:
    if actor and actor.get("id") is not None:
        return str(actor["id"])
    return None
