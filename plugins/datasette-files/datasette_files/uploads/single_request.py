"""Uploading a file in one request (``PUT``), with no upload token.

The bytes are stored, durable and in place before the file is registered. A
small file is read whole and handed to the registry's batched writer, which
stores it just before committing its row; a larger one streams into storage.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import AsyncIterator, Optional

from ..base import BatchWrites, FileRecord
from ..naming import new_file_id, storage_path
from ..organise.files import joined
from ..registry import FileRow, FileToStore, Registry
from ..registry.placing import Placement
from ..sources import Source
from .checks import validate_upload
from .image_size import image_size, stored_image_size
from .storing import actor_id_of, discard_partial, new_file_row, read_exactly, store
from .tokens import destination

# A file up to this size is read whole, then stored by the registry's writer in
# the batch that registers it.
SMALL_FILE_BYTES = 256 * 1024


async def put_file(registry: Registry, source: Source, actor, filename: str,
                   content_type: Optional[str], declared: Optional[int],
                   stream: AsyncIterator[bytes], folder: Optional[str] = None,
                   on_conflict: Optional[str] = None,
                   may_replace: frozenset = frozenset()) -> FileRow:
    """Store and register a file in ``folder``; the file as registered. A file
    with its name there is handled as ``on_conflict`` says."""
    shown_name, content_type, _ = await validate_upload(
        source, {"filename": filename, "content_type": content_type, "size": declared})
    folder, on_conflict = await destination(registry, source, shown_name, folder, on_conflict)
    file_id = new_file_id()
    path = joined(folder, storage_path(file_id, shown_name))
    record = FileRecord(shown_name, content_type, actor_id_of(actor))
    placement = Placement(on_conflict, may_replace, record.uploaded_by)
    if declared is None or declared > SMALL_FILE_BYTES \
            or not isinstance(source.storage, BatchWrites):
        return await put_streamed(registry, source, file_id, path, record, declared, stream,
                                  folder, placement)
    data = await read_exactly(stream, declared)
    width, height = await image_size(data, content_type)
    # Hashed here: a small file hashes faster than a trip to a thread.
    content_hash = "sha256:" + hashlib.sha256(data).hexdigest()
    file = new_file_row(file_id, source, path, shown_name, content_type, content_hash,
                        len(data), width, height, record.uploaded_by, folder)
    try:
        return await registry.files.register(
            file, storing=FileToStore(source.storage, path, data, record), placement=placement)
    except asyncio.CancelledError:
        raise  # its batch may commit still: the file is left to it
    except BaseException:
        await discard_partial(source, path)
        raise


async def put_streamed(registry: Registry, source: Source, file_id: str, path: str,
                       record: FileRecord, declared: Optional[int],
                       stream: AsyncIterator[bytes], folder: str,
                       placement: Placement) -> FileRow:
    """Stream file ``file_id`` into storage at ``path``, then register it."""
    registering = False
    content_type = record.content_type
    try:
        metadata = await store(source, path, content_type, declared, stream, record)
        width, height = await stored_image_size(source, path, content_type)
        registering = True
        return await registry.files.register(new_file_row(
            file_id, source, path, record.filename, content_type, metadata.content_hash,
            metadata.size, width, height, record.uploaded_by, folder), placement=placement)
    except BaseException as ex:
        # A registration cancelled while its batch commits may still land: the
        # file stays for it (unregistered, a sync finds it).
        if not (registering and isinstance(ex, asyncio.CancelledError)):
            await discard_partial(source, path)
        raise
