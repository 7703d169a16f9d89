"""The three upload steps of the specification: prepare, receive, complete.

An upload token is a row in the registry's uploads table, so it survives a
restart. It belongs to one source and one actor, expires, and is spent by
``complete``. Its status moves prepared -> uploaded -> completed; a failed or
interrupted receive leaves it prepared so the client can retry. A resumable
upload sends its bytes in chunks instead (``chunks``), the last one ending at
uploaded.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import time
from dataclasses import replace
from typing import AsyncIterator

from ..clock import format_timestamp, now_timestamp, utc_now
from ..errors import ApiError, Conflict, Forbidden, Gone, NotFound
from ..naming import new_file_id, new_upload_token, storage_path
from ..organise import names
from ..organise.files import joined
from ..registry import FileRow, Registry, UploadRow
from ..registry.placing import ON_CONFLICT, Placement, name_taken
from ..registry.uploads import FolderGone
from ..sources import Source, Sources
from . import direct
from .checks import validate_upload
from .image_size import stored_image_size
from .sessions import UploadSessions
from .storing import actor_id_of, discard_partial, new_file_row, store, upload_record

log = logging.getLogger("datasette_files")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
EXPIRY_INTERVAL_SECONDS = 60


async def prepare(registry: Registry, source: Source, actor, payload: dict,
                  expiry_seconds: int) -> UploadRow:
    """Validate an intended upload and return its persisted row, with how its
    bytes travel (``direct.transfer_for``)."""
    shown_name, content_type, size = await validate_upload(source, payload)
    folder, on_conflict = await destination(registry, source, shown_name, payload.get("folder"),
                                            payload.get("on_conflict"))
    transfer = direct.transfer_for(source, payload, size)
    now = utc_now()
    file_id = new_file_id()
    path = joined(folder, storage_path(file_id, shown_name))
    upload = UploadRow(
        token=new_upload_token(), file_id=file_id, source_slug=source.slug,
        actor_id=actor_id_of(actor), path=path,
        filename=shown_name, content_type=content_type, declared_size=size,
        status="prepared", created_at=format_timestamp(now),
        expires_at=format_timestamp(now + datetime.timedelta(seconds=expiry_seconds)),
        folder=folder, on_conflict=on_conflict, transfer=transfer, object_path=path,
        part_size=direct.part_size_for(source.storage, size)
        if transfer == direct.MULTIPART else None)
    await registry.uploads.create(upload)
    return upload


async def load(registry: Registry, source: Source, actor, token) -> UploadRow:
    """The upload of ``token``, checked against the source, actor and clock."""
    if not isinstance(token, str) or not token:
        raise ApiError("'upload_token' is required: use the token returned by prepare")
    upload = await registry.uploads.get(token)
    if upload is None:
        raise NotFound("Unknown upload token: prepare the upload first")
    if upload.source_slug != source.slug:
        raise ApiError(f"This upload token belongs to source {upload.source_slug!r}, "
                       f"not {source.slug!r}")
    if upload.actor_id != actor_id_of(actor):
        raise Forbidden("This upload token was issued to a different user")
    if upload.status == "completed":
        raise Conflict("This upload token has already been used to complete an upload")
    if upload.expires_at <= now_timestamp():
        raise Gone("This upload token has expired: prepare the upload again")
    return upload


async def receive(registry: Registry, sessions: UploadSessions, source: Source,
                  upload: UploadRow, stream: AsyncIterator[bytes]) -> UploadRow:
    """Stream the file's bytes into storage, enforcing the declared size and the
    source's limit as the bytes arrive. Returns the updated upload."""
    if upload.status == "uploaded":
        raise Conflict("The file for this upload token has already been uploaded")
    if upload.received_bytes:
        raise Conflict(f"This upload is being sent in chunks and {upload.received_bytes} "
                       "bytes are in: send the rest with Content-Range",
                       received=upload.received_bytes)
    with sessions.receiving(upload.token, "An upload for this token is already in progress"):
        try:
            metadata = await store(source, upload.path, upload.content_type,
                                   upload.declared_size, stream, upload_record(upload))
        except BaseException:
            await discard_partial(source, upload.path, upload.file_id)
            raise
        await registry.uploads.record_received(upload.token, metadata.size,
                                               metadata.content_hash)
    return replace(upload, status="uploaded", received_bytes=metadata.size,
                   content_hash=metadata.content_hash)


async def complete(registry: Registry, source: Source, upload: UploadRow,
                   expected_sha256=None, may_replace: frozenset = frozenset()) -> FileRow:
    """Register the uploaded file and spend the token; return the file.

    With ``expected_sha256`` (hex, optionally prefixed ``sha256:``) the bytes
    must match it, or they are discarded and the upload starts again. A file
    with its name in its folder is handled as the upload's ``on_conflict``
    says (only a file in ``may_replace`` is replaced).
    """
    if upload.status != "uploaded":
        if upload.received_bytes:
            raise ApiError(f"Only {upload.received_bytes} of {upload.declared_size} "
                           "bytes have been uploaded", received=upload.received_bytes)
        raise ApiError("No file has been uploaded for this token yet")
    if expected_sha256 is not None:
        if not isinstance(expected_sha256, str) or not _SHA256_HEX.fullmatch(
                expected_sha256.removeprefix("sha256:")):
            raise ApiError("'sha256' must be 64 hexadecimal digits")
        expected = "sha256:" + expected_sha256.removeprefix("sha256:").lower()
        # A direct upload's bytes were never read here: without the storage's
        # checksum there is nothing to compare yet (the hasher fills it later).
        if upload.content_hash is not None and expected != upload.content_hash:
            await discard_partial(source, upload.path, upload.file_id)
            await registry.uploads.restart(upload.token)
            raise ApiError(
                f"The uploaded bytes have {upload.content_hash}, not the {expected} "
                "given: they were discarded; upload the file again", status=422, received=0)
    width, height = await stored_image_size(source, upload.path, upload.content_type)
    file = new_file_row(upload.file_id, source, upload.path, upload.filename,
                        upload.content_type, upload.content_hash, upload.received_bytes,
                        width, height, upload.actor_id, upload.folder)
    try:
        registered = await registry.uploads.complete(
            upload.token, file, now_timestamp(),
            Placement(upload.on_conflict, may_replace, upload.actor_id))
    except FolderGone as ex:
        # Forgotten first (as expire does), then its bytes go from where they are now.
        await registry.uploads.delete(upload.token)
        await discard_partial(source, ex.path, upload.file_id)
        raise
    if registered is None:
        raise Conflict("This upload token has already been used to complete an upload, "
                       "or has expired")
    return registered


async def expire_now_and_then(registry: Registry, sources: Sources,
                              sessions: UploadSessions) -> None:
    """Start expire at most once a minute, from the request path, beside the
    request: each expired upload costs calls to its storage (a bucket's
    multipart uploads are aborted one by one, up to 1,000 a sweep), which the
    request that happens to start the sweep must not wait for."""
    now = time.monotonic()
    running = sessions.expiry_task is not None and not sessions.expiry_task.done()
    if now - sessions.last_expiry_run >= EXPIRY_INTERVAL_SECONDS and not running:
        sessions.last_expiry_run = now
        sessions.expiry_task = asyncio.get_running_loop().create_task(
            _expire_logged(registry, sources, sessions))


async def _expire_logged(registry: Registry, sources: Sources,
                         sessions: UploadSessions) -> None:
    try:
        await expire(registry, sources, sessions)
    except Exception:  # the next sweep tries again
        log.exception("datasette-files: sweeping expired uploads failed")


async def expire(registry: Registry, sources: Sources, sessions: UploadSessions) -> int:
    """Forget expired tokens and remove bytes that were uploaded but never completed."""
    expired = [upload for upload in await registry.uploads.expired(now_timestamp())
               if upload.token not in sessions.in_progress]  # a receive ends first
    for upload in expired:
        sessions.forget(upload.token)
        # Forgotten first: a complete that comes now finds no token, so the
        # bytes removed next can never belong to a registered file.
        status = await registry.uploads.delete(upload.token)
        if status not in (None, "completed") and upload.source_slug in sources:
            source = sources.get(upload.source_slug)
            await direct.abort_multipart(source, upload)
            await direct.discard_staged(source, upload)
            await discard_partial(source, upload.path, upload.file_id)
            if upload.object_path not in (None, upload.path):
                await discard_partial(source, upload.object_path)
    return len(expired)


async def destination(registry: Registry, source: Source, filename: str, folder,
                      on_conflict) -> tuple[str, str]:
    """The (folder, on_conflict) an upload asks for, checked: the folder must
    exist, and with on_conflict=error the name must be free there (checked
    again when the file is registered)."""
    folder = names.folder_path(folder)
    on_conflict = names.on_conflict(on_conflict, "rename", ON_CONFLICT)
    if folder and await registry.folders.get(source.slug, folder) is None:
        raise NotFound(f"No folder {folder!r} in source {source.slug!r}: create it first")
    if on_conflict == "error":
        existing = await registry.files.named(source.slug, folder, filename)
        if existing is not None:
            raise name_taken(existing)
    return folder, on_conflict
