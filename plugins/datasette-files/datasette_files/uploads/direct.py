"""Uploads whose bytes go straight from the client to the storage, never
through the server: a storage with the ``DirectUploads`` capability (a bucket)
presigns the requests.

``prepare`` picks how an upload travels (``transfer_for``): one presigned POST
("direct"), presigned parts ("multipart", when the client asks or the file is
too big for one request), or through the server as before ("server"). A
multipart upload is begun at the storage by the first ask for part URLs
(``parts``), which also answers the parts the storage already holds, so a
client that was interrupted goes on from there. A POST stores in a staging
place of its upload's own (``staged_name``), never at the file's path: the
form lives as long as the token, and posted again after complete it must not
reach the file. ``finish`` (at ``complete``) checks what the storage holds
against the declared size, moves a POST's object into place, and the file is
registered as every other upload is.

The server never reads the bytes: the content hash is the storage's SHA-256
checksum when it has one, else null until the background hasher fills it.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from dataclasses import replace
from typing import Optional

from ..base import DirectObject, DirectUploads, Moves, PresignedPost, UploadedPart
from ..clock import parse_timestamp, utc_now
from ..errors import ApiError, Conflict, Gone
from ..naming import storage_path
from ..registry import Registry, UploadRow
from ..sources import Source
from .storing import discard_partial, upload_record

log = logging.getLogger("datasette_files")

SERVER, DIRECT, MULTIPART = "server", "direct", "multipart"
# S3's limits: parts are numbered 1-10,000.
MAX_PARTS = 10_000
# Part URLs one request may ask for (a client asks again as it goes).
MAX_PART_URLS_PER_REQUEST = 100
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def direct_storage(source: Source) -> Optional[DirectUploads]:
    """The source's storage when uploads may go straight to it now."""
    storage = source.storage
    if source.direct_uploads and not source.read_only and isinstance(storage, DirectUploads) \
            and storage.direct_uploads_ready:
        return storage
    return None


def direct_upload_part_size(source: Source) -> Optional[int]:
    """For the upload page: the part size when uploads go straight to the
    source's storage (a file bigger than one part goes in parts), else None."""
    storage = direct_storage(source)
    return storage.part_size if storage is not None else None


def transfer_for(source: Source, payload: dict, size: Optional[int]) -> str:
    """How an upload prepared with ``payload`` sends its bytes."""
    wants_multipart = payload.get("multipart", False)
    if not isinstance(wants_multipart, bool):
        raise ApiError("'multipart' must be true or false")
    storage = direct_storage(source)
    if storage is None:
        return SERVER
    if size is None:
        if wants_multipart:
            raise ApiError("'size' is required for a multipart upload: the parts are "
                           "counted from it")
        return SERVER  # a presigned request pins the exact size
    if size > 0 and (wants_multipart or size > storage.single_request_limit):
        return MULTIPART
    if storage.single_request_limit == 0:
        return SERVER  # an empty file: no POST to send it with, and no part to make
    return DIRECT


def declared_sha256(payload: dict) -> Optional[str]:
    """The file's SHA-256 (hex) a client may give at prepare: a direct upload
    asks the storage to refuse other bytes."""
    value = payload.get("sha256")
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value.removeprefix("sha256:")):
        raise ApiError("'sha256' must be 64 hexadecimal digits")
    return value.removeprefix("sha256:").lower()


def part_size_for(storage: DirectUploads, size: int) -> int:
    """The storage's part size, grown so the file fits in S3's 10,000 parts."""
    return max(storage.part_size, math.ceil(size / MAX_PARTS))


def part_count(upload: UploadRow) -> int:
    return max(1, math.ceil(upload.declared_size / upload.part_size))


def expected_part_size(upload: UploadRow, number: int) -> int:
    """The bytes part ``number`` of ``upload`` must hold."""
    if number < part_count(upload):
        return upload.part_size
    return upload.declared_size - upload.part_size * (part_count(upload) - 1)


def seconds_left(upload: UploadRow) -> int:
    """How long presigned requests for ``upload`` may live: no longer than its
    token, so nothing lands in the storage after the token's expiry removed
    what was there."""
    left = int((parse_timestamp(upload.expires_at) - utc_now()) / datetime.timedelta(seconds=1))
    if left < 1:
        raise Gone("This upload token is expiring: prepare the upload again")
    return left


def require_storage(source: Source) -> DirectUploads:
    storage = direct_storage(source)
    if storage is None:
        raise Conflict(f"Source {source.slug!r} no longer takes uploads straight to its "
                       "storage: prepare the upload again")
    return storage


async def presigned_post(source: Source, upload: UploadRow,
                         sha256: Optional[str]) -> PresignedPost:
    """The form a client posts the file with (fields, then ``file``)."""
    storage = require_storage(source)
    return await storage.presigned_post(staged_name(upload), upload.content_type,
                                        upload.declared_size, seconds_left(upload), sha256)


def staged_name(upload: UploadRow) -> str:
    """The name of the upload's staging place: its file's storage name (one
    per token, as the file id is)."""
    return storage_path(upload.file_id, upload.filename)


def multipart_plan(upload: UploadRow, parts_url: str) -> dict:
    """What ``prepare`` adds for a multipart upload."""
    return {"part_size": upload.part_size, "part_count": part_count(upload),
            "parts_url": parts_url, "max_parts_per_request": MAX_PART_URLS_PER_REQUEST}


def requested_parts(upload: UploadRow, value) -> list[int]:
    """The part numbers a parts request asks URLs for, checked."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise ApiError("'part_numbers' must be a list of part numbers such as [1, 2, 3]")
    count = part_count(upload)
    outside = [n for n in value if not 1 <= n <= count]
    if outside:
        raise ApiError(f"Part numbers go from 1 to {count} for this upload; "
                       f"{outside[0]} is outside that", part_count=count)
    if len(set(value)) > MAX_PART_URLS_PER_REQUEST:
        raise ApiError(f"Ask for at most {MAX_PART_URLS_PER_REQUEST} parts at a time")
    return sorted(set(value))


async def parts(registry: Registry, source: Source, upload: UploadRow,
                numbers: list[int]) -> dict:
    """Presigned URLs for parts ``numbers`` of a multipart upload, and the parts
    the storage already holds; begins the upload at the storage the first time."""
    if upload.transfer != MULTIPART:
        raise ApiError("This upload is not a multipart upload: prepare it with "
                       "\"multipart\": true")
    if upload.status == "uploaded":
        raise Conflict("Every byte of this upload is in: complete it")
    storage = require_storage(source)
    upload = await _begun(registry, storage, upload)
    held = await storage.uploaded_parts(upload.object_path, upload.multipart_id)
    if held is None:
        raise Gone("The storage no longer has this multipart upload (it was aborted or "
                   "expired): prepare the upload again")
    urls = await storage.presigned_part_urls(
        upload.object_path, upload.multipart_id,
        {n: expected_part_size(upload, n) for n in numbers}, seconds_left(upload)) \
        if numbers else {}
    return {
        "upload_token": upload.token,
        "part_size": upload.part_size,
        "part_count": part_count(upload),
        "parts": [{"part_number": n, "url": urls[n], "method": "PUT",
                   "size": expected_part_size(upload, n)} for n in numbers],
        "uploaded": [_part_json(part) for part in held],
        "uploaded_bytes": sum(part.size for part in held),
        "expires_at": upload.expires_at,
    }


async def _begun(registry: Registry, storage: DirectUploads, upload: UploadRow) -> UploadRow:
    if upload.multipart_id is not None:
        return upload
    upload_id = await storage.start_multipart(upload.object_path, upload.content_type,
                                              upload_record(upload))
    winner = await registry.uploads.record_multipart(upload.token, upload_id)
    if winner != upload_id:  # another request began it first: one upload stays
        await storage.abort_multipart(upload.object_path, upload_id)
    return replace(upload, multipart_id=winner)


def _part_json(part: UploadedPart) -> dict:
    return {"part_number": part.number, "size": part.size, "etag": part.etag}


async def finish(registry: Registry, source: Source, upload: UploadRow) -> UploadRow:
    """At ``complete``: move a POST's object from staging into place, or join a
    multipart upload's parts, checking what the storage holds against the
    declared size, with the file's record kept beside it. Returns the upload,
    ready to register."""
    storage = require_storage(source)
    if upload.transfer == MULTIPART:
        await _join_parts(registry, storage, source, upload)
        path = await _object_in_place(storage, upload)
        stored = await storage.direct_object(path) if path else None
        if stored is None:
            raise Gone("The storage no longer has this multipart upload (it was aborted "
                       "or expired): prepare the upload again")
    else:
        path = upload.path
        stored = await _placed(registry, storage, upload)
    if stored.size != upload.declared_size:
        await discard_partial(source, path)
        await registry.uploads.restart(upload.token)
        raise _wrong_size(stored.size, upload)
    if not stored.has_record:
        await storage.keep_record(path, upload_record(upload))
    await registry.uploads.record_received(upload.token, stored.size, stored.content_hash)
    return replace(upload, status="uploaded", received_bytes=stored.size,
                   content_hash=stored.content_hash)


async def _placed(registry: Registry, storage: DirectUploads,
                  upload: UploadRow) -> DirectObject:
    """The POSTed object, checked and copied from staging to the upload's path."""
    name = staged_name(upload)
    staged = await storage.staged_object(name)
    if staged is None:
        # An earlier complete placed it and failed after: it is in place already.
        placed = await storage.direct_object(upload.path)
        if placed is None:
            raise ApiError("No file has been uploaded for this token yet: send it to the "
                           "upload_url from prepare first")
        return placed
    if staged.size != upload.declared_size:
        await storage.discard_staged(name)
        await registry.uploads.restart(upload.token)
        raise _wrong_size(staged.size, upload)
    placed = await storage.place_staged(name, staged, upload.path, upload.content_type,
                                        upload_record(upload))
    if placed is None:
        raise Conflict("The file was sent again while complete checked it: complete again")
    return placed


def _wrong_size(size: int, upload: UploadRow) -> ApiError:
    return ApiError(f"The storage received {size} bytes but the upload declared "
                    f"{upload.declared_size} bytes: they were discarded; upload the file "
                    "again", status=422, received=0, stored_size=size,
                    declared_size=upload.declared_size)


async def _join_parts(registry: Registry, storage: DirectUploads, source: Source,
                      upload: UploadRow) -> None:
    if upload.multipart_id is None:
        raise ApiError("No part of this upload has been sent yet: ask the parts_url for "
                       "part URLs first")
    held = await storage.uploaded_parts(upload.object_path, upload.multipart_id)
    if held is None:
        # Joined by an earlier complete whose answer was lost, or aborted:
        # whether the object is there says which.
        return
    by_number = {part.number: part for part in held}
    count = part_count(upload)
    missing = [n for n in range(1, count + 1) if n not in by_number]
    if missing:
        raise ApiError(f"{len(missing)} of the {count} parts have not been uploaded yet, "
                       f"starting with part {missing[0]}", status=409, missing_parts=missing[:100],
                       uploaded_bytes=sum(part.size for part in held))
    wrong = [n for n in range(1, count + 1)
             if by_number[n].size != expected_part_size(upload, n)]
    if wrong:
        n = wrong[0]
        raise ApiError(f"Part {n} holds {by_number[n].size} bytes but should hold "
                       f"{expected_part_size(upload, n)}: upload it again", status=409,
                       wrong_parts=wrong[:100])
    if len(held) > count:
        raise ApiError(f"The storage holds parts beyond the {count} this upload has: "
                       "prepare the upload again", status=409)
    await storage.complete_multipart(upload.object_path, upload.multipart_id,
                                     [by_number[n] for n in range(1, count + 1)])


async def _object_in_place(storage: DirectUploads, upload: UploadRow) -> Optional[str]:
    """Where the object is, once it is where the upload's row says: its folder
    may have moved since prepare (the row's path followed; an object stored
    after the move did not)."""
    if upload.object_path == upload.path:
        return upload.path
    if await storage.direct_object(upload.object_path) is None:
        return upload.path  # moved with its folder, or never stored
    if isinstance(storage, Moves):
        await storage.move_file(upload.object_path, upload.path,
                                record=upload_record(upload))
        return upload.path
    return upload.object_path


async def discard_staged(source: Source, upload: UploadRow) -> None:
    """Remove what a presigned POST stored for ``upload`` and no complete took
    (its token expired, or its bytes came through the server instead)."""
    if upload.transfer != DIRECT or not isinstance(source.storage, DirectUploads):
        return
    try:
        await source.storage.discard_staged(staged_name(upload))
    except Exception:
        log.warning("datasette-files: could not remove the staged upload of %s",
                    upload.object_path or upload.path)


async def abort_multipart(source: Source, upload: UploadRow) -> None:
    """Free the storage's parts of a multipart upload that will not be joined
    (its token expired, or its bytes came through the server instead)."""
    if upload.multipart_id is None or not isinstance(source.storage, DirectUploads):
        return
    try:
        await source.storage.abort_multipart(upload.object_path or upload.path,
                                             upload.multipart_id)
    except Exception:
        log.warning("datasette-files: could not abort the multipart upload of %s",
                    upload.object_path or upload.path)

