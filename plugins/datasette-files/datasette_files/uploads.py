"""The three upload steps: prepare, receive, complete.

An upload token is a row in the registry's uploads table, so it survives a
restart. It belongs to one source and one actor, expires, and is spent by
``complete``. Its status moves prepared -> uploaded -> completed; a failed or
interrupted receive leaves it prepared so the client can retry. A resumable
upload sends its bytes in chunks instead (chunked_uploads), the last one
ending at uploaded. While a request receives bytes for a token, no other may (held in
memory: nothing to undo after a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import io
import logging
import re
import time
from typing import AsyncIterator, Optional

from .errors import ApiError, Forbidden, InsufficientStorage, NotFound, PayloadTooLarge
from .files import format_timestamp, utc_now
from .naming import (
    content_type_for,
    display_filename,
    is_valid_content_type,
    new_file_id,
    new_upload_token,
    storage_path,
)
from .plugin_state import PluginState
from .sources import Source

log = logging.getLogger("datasette_files")

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# Enough of an image's head for Pillow to read its dimensions (JPEG EXIF can be long).
IMAGE_HEAD_BYTES = 512 * 1024
EXPIRY_INTERVAL_SECONDS = 60


class Gone(ApiError):
    status = 410


class Conflict(ApiError):
    status = 409


def actor_id_of(actor: Optional[dict]) -> Optional[str]:
    if actor and actor.get("id") is not None:
        return str(actor["id"])
    return None


async def prepare(plugin: PluginState, source: Source, actor, payload: dict) -> dict:
    """Validate an intended upload and return a persisted upload row."""
    shown_name, content_type, size = validate_upload(source, payload)
    now = utc_now()
    file_id = new_file_id()
    upload = {
        "token": new_upload_token(),
        "file_id": file_id,
        "source_slug": source.slug,
        "actor_id": actor_id_of(actor),
        "path": storage_path(file_id, shown_name),
        "filename": shown_name,
        "content_type": content_type,
        "declared_size": size,
        "status": "prepared",
        "created_at": format_timestamp(now),
        "expires_at": format_timestamp(
            now + datetime.timedelta(seconds=plugin.upload_expiry_seconds)
        ),
    }
    await plugin.registry.create_upload(upload)
    return upload


def validate_upload(source: Source, payload: dict) -> tuple[str, str, Optional[int]]:
    """(name as shown, content type, declared size) of an intended upload, or ApiError."""
    if not source.capabilities.can_upload:
        raise ApiError(f"Source {source.slug!r} does not accept uploads")
    filename = payload.get("filename")
    if not isinstance(filename, str) or not filename.strip():
        raise ApiError("'filename' is required and must be a non-empty string")
    shown_name = display_filename(filename)
    if not shown_name:
        raise ApiError(f"'filename' {filename!r} has no usable name in it")
    declared_type = payload.get("content_type")
    if declared_type is not None and not isinstance(declared_type, str):
        raise ApiError("'content_type' must be a string such as 'image/jpeg'")
    content_type = content_type_for(shown_name, declared_type)
    if not is_valid_content_type(content_type):
        raise ApiError(f"'content_type' {declared_type!r} is not a valid MIME type")
    size = payload.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ApiError("'size' must be a whole number of bytes, 0 or more")
    if size is not None:
        check_size_fits(source, size)
    return shown_name, content_type, size


def check_size_fits(source: Source, size: int) -> None:
    if size > source.max_file_size:
        raise PayloadTooLarge(
            f"File is {size} bytes; source {source.slug!r} accepts at most "
            f"{source.max_file_size} bytes (max_file_size)"
        )
    free = source.free_space()
    if free is not None and size > free:
        raise InsufficientStorage(
            f"File is {size} bytes but source {source.slug!r} has only {free} bytes free"
        )


async def load_upload(
    plugin: PluginState, source: Source, actor, token
) -> dict:
    """The upload row for ``token``, checked against the source, actor and clock."""
    if not isinstance(token, str) or not token:
        raise ApiError("'upload_token' is required: use the token returned by prepare")
    upload = await plugin.registry.get_upload(token)
    if upload is None:
        raise NotFound("Unknown upload token: prepare the upload first")
    if upload["source_slug"] != source.slug:
        raise ApiError(
            f"This upload token belongs to source {upload['source_slug']!r}, "
            f"not {source.slug!r}"
        )
    if upload["actor_id"] != actor_id_of(actor):
        raise Forbidden("This upload token was issued to a different user")
    if upload["status"] == "completed":
        raise Conflict("This upload token has already been used to complete an upload")
    if upload["expires_at"] <= format_timestamp(utc_now()):
        raise Gone("This upload token has expired: prepare the upload again")
    return upload


async def receive(
    plugin: PluginState, source: Source, upload: dict, stream: AsyncIterator[bytes]
) -> dict:
    """Stream the file's bytes into storage, enforcing the declared size and
    the source's limit as the bytes arrive. Returns the updated upload row."""
    token = upload["token"]
    if upload["status"] == "uploaded":
        raise Conflict("The file for this upload token has already been uploaded")
    if upload["received_bytes"]:
        raise Conflict(f"This upload is being sent in chunks and {upload['received_bytes']} "
                       "bytes are in: send the rest with Content-Range",
                       received=upload["received_bytes"])
    with receiving(plugin, token, "An upload for this token is already in progress"):
        try:
            metadata = await store(source, upload["path"], upload["content_type"],
                                   upload["declared_size"], stream)
        except BaseException:
            await _discard_received(source, upload)
            raise
        received = metadata.size
        await plugin.registry.record_received(token, received, metadata.content_hash)
    return {**upload, "status": "uploaded", "received_bytes": received,
            "content_hash": metadata.content_hash}


@contextlib.contextmanager
def receiving(plugin: PluginState, token: str, busy_message: str, **details):
    """Only one request receives an upload's bytes at a time (one process, one
    event loop: the check and the claim cannot interleave)."""
    if token in plugin.receiving:
        raise Conflict(busy_message, **details)
    plugin.receiving.add(token)
    try:
        yield
    finally:
        plugin.receiving.discard(token)


async def store(source: Source, path: str, content_type: str, declared: Optional[int],
                stream: AsyncIterator[bytes]):
    """Stream bytes into storage at ``path``, enforcing the declared size and the
    source's limit as they arrive; the storage's FileMetadata."""
    limit, limit_reason = _upload_limit(source, declared)
    received = 0

    async def limited() -> AsyncIterator[bytes]:
        nonlocal received
        async for chunk in stream:
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"Upload exceeds {limit_reason}: {limit} bytes")
            yield chunk

    metadata = await source.storage.receive_upload(path, limited(), content_type)
    if declared is not None and received != declared:
        raise ApiError(f"Received {received} bytes but the upload declared {declared} bytes")
    metadata.size = received
    return metadata


# A file up to this size is read whole, then written, fsynced and moved into
# place by the registry's writer in the batch that registers it.
SMALL_FILE_BYTES = 256 * 1024


async def put_file(plugin: PluginState, source: Source, actor, filename: str,
                   content_type: Optional[str], declared: Optional[int],
                   stream: AsyncIterator[bytes]) -> dict:
    """Upload and register a file in one request (no token): the bytes are
    stored, fsynced and in place before the file is registered."""
    shown_name, content_type, _ = validate_upload(
        source, {"filename": filename, "content_type": content_type, "size": declared})
    if declared is None or declared > SMALL_FILE_BYTES or not hasattr(
            source.storage, "small_file_writer"):
        return await _put_streamed(plugin, source, actor, shown_name, content_type,
                                   declared, stream)
    data = await _read_declared(stream, declared)
    width, height = await _dimensions_of(data, content_type)
    file_id = new_file_id()
    path = storage_path(file_id, shown_name)
    # Hashed here: at most 0.2 ms (256 KiB), less than a trip to a thread.
    content_hash = "sha256:" + hashlib.sha256(data).hexdigest()
    row = file_row(file_id, source, path, shown_name, content_type, content_hash,
                   len(data), width, height, actor_id_of(actor))
    try:
        return await plugin.registry.register_file(
            row, place=source.storage.small_file_writer(data, path))
    except asyncio.CancelledError:
        raise  # its batch may commit still: the file is left to it
    except BaseException:
        await _discard_received(source, {"path": path, "file_id": file_id})
        raise


async def _put_streamed(plugin: PluginState, source: Source, actor, shown_name: str,
                        content_type: str, declared: Optional[int],
                        stream: AsyncIterator[bytes]) -> dict:
    file_id = new_file_id()
    path = storage_path(file_id, shown_name)
    registering = False
    try:
        metadata = await store(source, path, content_type, declared, stream)
        width, height = await image_dimensions(source, path, content_type)
        registering = True
        return await plugin.registry.register_file(file_row(
            file_id, source, path, shown_name, content_type, metadata.content_hash,
            metadata.size, width, height, actor_id_of(actor)))
    except BaseException as ex:
        # A registration cancelled while its batch commits may still land: the
        # file stays for it (unregistered, a sync finds it).
        if not (registering and isinstance(ex, asyncio.CancelledError)):
            await _discard_received(source, {"path": path, "file_id": file_id})
        raise


def file_row(file_id: str, source: Source, path: str, filename: str, content_type: str,
             content_hash: str, size: int, width: Optional[int], height: Optional[int],
             uploaded_by: Optional[str]) -> dict:
    """A registry row for a file just stored."""
    return {
        "id": file_id, "source_slug": source.slug, "path": path, "filename": filename,
        "content_type": content_type, "content_hash": content_hash, "size": size,
        "width": width, "height": height, "uploaded_by": uploaded_by,
        "created_at": format_timestamp(utc_now()), "metadata": "{}", "search_text": "",
    }


async def _read_declared(stream: AsyncIterator[bytes], declared: int) -> bytes:
    """The whole body, which must be exactly ``declared`` bytes (the server
    delivers no more than Content-Length)."""
    data = b"".join([chunk async for chunk in stream])
    if len(data) != declared:
        raise ApiError(f"Received {len(data)} bytes but the upload declared {declared} bytes")
    return data


def _upload_limit(source: Source, declared: Optional[int]) -> tuple[int, str]:
    if declared is not None and declared <= source.max_file_size:
        return declared, "the size declared in prepare"
    return source.max_file_size, f"the max_file_size of source {source.slug!r}"


async def _discard_received(source: Source, upload: dict) -> None:
    """Remove whatever a failed receive may have left at the upload's path."""
    if not source.capabilities.can_delete:
        return
    try:
        await asyncio.shield(source.storage.delete_file(upload["path"]))
        if hasattr(source.storage, "discard_chunks"):
            await asyncio.shield(source.storage.discard_chunks(upload["file_id"]))
    except Exception:
        log.warning("datasette-files: could not remove partial upload %s", upload["path"])


async def complete(plugin: PluginState, source: Source, upload: dict,
                   expected_sha256=None) -> dict:
    """Register the uploaded file and spend the token; return the file row.

    With ``expected_sha256`` (hex, optionally prefixed ``sha256:``) the bytes
    must match it, or they are discarded and the upload starts again.
    """
    if upload["status"] != "uploaded":
        if upload["received_bytes"]:
            raise ApiError(f"Only {upload['received_bytes']} of {upload['declared_size']} "
                           "bytes have been uploaded", received=upload["received_bytes"])
        raise ApiError("No file has been uploaded for this token yet")
    if expected_sha256 is not None:
        if not isinstance(expected_sha256, str) or not _SHA256_HEX.fullmatch(
                expected_sha256.removeprefix("sha256:")):
            raise ApiError("'sha256' must be 64 hexadecimal digits")
        expected = "sha256:" + expected_sha256.removeprefix("sha256:").lower()
        if expected != upload["content_hash"]:
            await _discard_received(source, upload)
            await plugin.registry.restart_upload(upload["token"])
            raise ApiError(
                f"The uploaded bytes have {upload['content_hash']}, not the {expected} "
                "given: they were discarded; upload the file again", status=422, received=0)
    width, height = await image_dimensions(source, upload["path"], upload["content_type"])
    row = file_row(upload["file_id"], source, upload["path"], upload["filename"],
                   upload["content_type"], upload["content_hash"], upload["received_bytes"],
                   width, height, upload["actor_id"])
    registered = await plugin.registry.complete_upload(upload["token"], row)
    if registered is None:
        raise Conflict("This upload token has already been used to complete an upload")
    return registered


async def _dimensions_of(data: bytes, content_type: str) -> tuple[Optional[int], Optional[int]]:
    """image_dimensions for a file still in memory."""
    if not content_type.startswith("image/"):
        return None, None
    try:
        return await asyncio.to_thread(_dimensions_from_head, data[:IMAGE_HEAD_BYTES])
    except Exception:
        return None, None


async def image_dimensions(source: Source, path: str,
                           content_type: str) -> tuple[Optional[int], Optional[int]]:
    """Width and height as displayed (EXIF rotation applied), read from the
    image's header only; (None, None) for non-images or unreadable ones."""
    if not content_type.startswith("image/"):
        return None, None
    try:
        head = await source.storage.read_bytes(path, IMAGE_HEAD_BYTES)
    except Exception:
        return None, None
    return await _dimensions_of(head, content_type)


def _dimensions_from_head(head: bytes) -> tuple[Optional[int], Optional[int]]:
    from PIL import Image

    with Image.open(io.BytesIO(head)) as image:
        width, height = image.size
        # EXIF orientations 5-8 rotate by 90 degrees.
        if image.getexif().get(0x0112) in (5, 6, 7, 8):
            width, height = height, width
    return width, height


async def expire_uploads_now_and_then(plugin: PluginState) -> None:
    """Run expire_uploads at most once a minute, from the request path."""
    now = time.monotonic()
    if now - plugin.last_expiry_run >= EXPIRY_INTERVAL_SECONDS:
        plugin.last_expiry_run = now
        await expire_uploads(plugin)


async def expire_uploads(plugin: PluginState) -> int:
    """Forget expired tokens and remove bytes that were uploaded but never completed."""
    expired = await plugin.registry.expired_uploads(format_timestamp(utc_now()))
    for upload in expired:
        plugin.chunk_hashes.pop(upload["token"], None)
        if upload["status"] != "completed" and upload["source_slug"] in plugin.sources:
            await _discard_received(plugin.sources.get(upload["source_slug"]), upload)
        await plugin.registry.delete_upload(upload["token"])
    return len(expired)
