"""Moving files and folders: S3 has no rename, so a move is CopyObject then
DeleteObject (a folder: every key under its prefix copied, then all deleted).

Crash safety comes from the journal (``organise.changes``): a change cut
short is undone at the next start by moving back. A move cut short between
its copy and its delete leaves the object twice; the copy carries the ETag of
the object it copied (``records.COPY_OF_KEY``), so a move that finds its
destination already holding that very copy deletes the source instead of
refusing (PathTaken) or copying again: the undo, or a retry, ends with one
complete copy, and nothing is left for sync to register twice.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Callable, Optional

from ...base import FileMissing, FileRecord, PathTaken
from . import keys, reads, records
from .errors import translated

# CopyObject copies at most 5 GiB in one request; larger objects are copied
# in parts of this size (UploadPartCopy).
MAX_SINGLE_COPY = 5 * 1024**3
COPY_PART_BYTES = 512 * 1024**2
# Copies (and HEADs) in flight at once while a folder moves.
FOLDER_CONCURRENCY = 8
# What S3 consoles give their folder markers.
FOLDER_CONTENT_TYPE = "application/x-directory"
# HTTP headers a copy with new metadata would otherwise drop.
_KEPT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")


async def move_file(client_of: Callable, bucket: str, prefix: str, path: str, new_path: str,
                    record: Optional[FileRecord], checksums: bool = True,
                    writing: Optional[set[str]] = None) -> None:
    """Move the object at ``path`` to ``new_path`` (``record`` kept with it, or
    the one it had); FileMissing, or PathTaken for a different object there.
    ``writing``: the UploadIds in flight, see ``copy_object``."""
    source_key, target_key = keys.object_key(prefix, path), keys.object_key(prefix, new_path)
    async with client_of() as client:
        source = await reads.head(client, bucket, source_key, path)
        if source is None:
            raise FileMissing(f"{path!r} is not in storage")
        target = await reads.head(client, bucket, target_key, new_path)
    if target is not None:
        if not is_copy(source, target):
            raise PathTaken(f"something is already at {new_path!r}")
    else:
        await copy_object(client_of, bucket, source, target_key, new_path, record, checksums,
                          writing=writing)
    async with client_of() as client:
        with translated(path):
            await client.delete_object(Bucket=bucket, Key=source_key)
    await keep_folder(client_of, bucket, prefix, path)


async def move_folder(client_of: Callable, bucket: str, prefix: str, path: str,
                      new_path: str, checksums: bool = True,
                      writing: Optional[set[str]] = None) -> None:
    """Move every key under folder ``path`` (its marker too) under ``new_path``.
    FileMissing if nothing is there; PathTaken if ``new_path`` holds anything
    but copies that an earlier, interrupted move of this folder made."""
    source_prefix = keys.folder_prefix(prefix, path)
    target_prefix = keys.folder_prefix(prefix, new_path)
    sources = await _listed(client_of, bucket, source_prefix)
    if not sources:
        raise FileMissing(f"folder {path!r} is not in storage")
    targets = await _listed(client_of, bucket, target_prefix)
    limit = asyncio.Semaphore(FOLDER_CONCURRENCY)

    async def plan(name: str) -> tuple[str, str]:
        """("copy" | "copied" | "taken", name) for one key of the folder."""
        if name not in targets:
            return "copy", name
        async with limit, client_of() as client:
            source = await reads.head(client, bucket, source_prefix + name, path)
            target = await reads.head(client, bucket, target_prefix + name, new_path)
        if source is None:
            return "gone", name
        return ("copied" if target is not None and is_copy(source, target) else "taken"), name

    plans = await asyncio.gather(*(plan(name) for name in sources))
    resuming = any(kind == "copied" for kind, _ in plans)
    if targets and (not resuming or any(kind == "taken" for kind, _ in plans)):
        raise PathTaken(f"something is already at {new_path!r}")

    async def copy(name: str) -> None:
        async with limit:
            async with client_of() as client:
                source = await reads.head(client, bucket, source_prefix + name, path)
            if source is None:
                return  # gone since the listing
            target_path = new_path + "/" + name if name else new_path
            await copy_object(client_of, bucket, source, target_prefix + name, target_path,
                              None, checksums, writing=writing)

    await asyncio.gather(*(copy(name) for kind, name in plans if kind == "copy"))
    await delete_keys(client_of, bucket, [source_prefix + name for name in sources])
    await keep_folder(client_of, bucket, prefix, path)


async def keep_folder(client_of: Callable, bucket: str, prefix: str, path: str) -> None:
    """Keep the folder ``path`` was in once its last key went (a move, a
    delete): a folder of the bucket exists only through keys, and an empty
    folder on disk stays. A zero-byte marker, as ``make_folder`` puts."""
    folder = path.rpartition("/")[0]
    if not folder or keys.is_reserved(folder):
        return  # the root, or the trash (whose folders are removed when emptied)
    folder_key = keys.folder_prefix(prefix, folder)
    async with client_of() as client:
        with translated(folder):
            answer = await client.list_objects_v2(Bucket=bucket, Prefix=folder_key, MaxKeys=1)
            if not answer.get("Contents"):
                await client.put_object(Bucket=bucket, Key=folder_key, Body=b"",
                                        ContentType=FOLDER_CONTENT_TYPE)


def is_copy(source: reads.Head, target: reads.Head) -> bool:
    """Whether one of the two objects is a move's copy of the other."""
    return source.size == target.size and (
        target.metadata.get(records.COPY_OF_KEY) == _bare(source.etag)
        or source.metadata.get(records.COPY_OF_KEY) == _bare(target.etag))


async def copy_object(client_of: Callable, bucket: str, source: reads.Head, target_key: str,
                      target_path: str, record: Optional[FileRecord],
                      checksums: bool = True, *, file_id: Optional[str] = None,
                      copy_of: bool = True, writing: Optional[set[str]] = None
                      ) -> Optional[datetime.datetime]:
    """Copy ``source`` to ``target_key`` with the metadata a file at
    ``target_path`` has (the id in its name, else ``file_id`` or the source's;
    ``record`` or else the source's), the source's other user metadata and
    headers, and (``copy_of``) the ETag it was copied from. Onto itself
    (``target_key`` is ``source.key``, ``copy_of`` False) it rewrites the
    metadata alone (objects over 5 GiB too: in parts). Returns the copy's
    LastModified when one request made it (None for a copy in parts). A copy
    in parts has its UploadId in ``writing`` while it runs: a large one may
    outlast the sweep's age limit, and this process's own sweep must not
    abort it."""
    if record is None:
        record = records.record_from(source.metadata)
    if file_id is None:
        file_id = records.file_id_from(source.metadata)
    metadata = {key: value for key, value in source.metadata.items()
                if key not in (records.RECORD_KEY, records.FILE_ID_KEY, records.COPY_OF_KEY)}
    metadata.update(records.metadata_for(target_path, record, file_id) if target_path else {})
    if copy_of:
        metadata[records.COPY_OF_KEY] = _bare(source.etag)
    arguments = {"Bucket": bucket, "Key": target_key, "Metadata": records.fitted(metadata),
                 "MetadataDirective": "REPLACE",
                 "ContentType": source.content_type or "application/octet-stream",
                 **{name: source.headers[name] for name in _KEPT_HEADERS
                    if source.headers.get(name)}}
    if checksums:
        arguments["ChecksumAlgorithm"] = "SHA256"
    copy_source = {"Bucket": bucket, "Key": source.key}
    async with client_of() as client:
        with translated(target_path or source.key):
            if source.size <= MAX_SINGLE_COPY:
                # CopySourceIfMatch: the bytes copied are the ones HEAD saw.
                answer = await client.copy_object(CopySource=copy_source,
                                                  CopySourceIfMatch=source.etag, **arguments)
                return (answer.get("CopyObjectResult") or {}).get("LastModified")
            await _copy_in_parts(client, copy_source, source, arguments,
                                 writing if writing is not None else set())
            return None


async def _copy_in_parts(client, copy_source: dict, source: reads.Head, arguments: dict,
                         writing: set[str]) -> None:
    upload = await client.create_multipart_upload(**{
        k: v for k, v in arguments.items() if k != "MetadataDirective"})
    upload_id = upload["UploadId"]
    writing.add(upload_id)
    try:
        parts = []
        for number, start in enumerate(range(0, source.size, COPY_PART_BYTES), 1):
            end = min(start + COPY_PART_BYTES, source.size) - 1
            answer = await client.upload_part_copy(
                Bucket=arguments["Bucket"], Key=arguments["Key"], UploadId=upload_id,
                PartNumber=number, CopySource=copy_source, CopySourceIfMatch=source.etag,
                CopySourceRange=f"bytes={start}-{end}")
            result = answer["CopyPartResult"]
            parts.append({"PartNumber": number, "ETag": result["ETag"],
                          **({"ChecksumSHA256": result["ChecksumSHA256"]}
                             if result.get("ChecksumSHA256") else {})})
        await client.complete_multipart_upload(Bucket=arguments["Bucket"],
                                               Key=arguments["Key"], UploadId=upload_id,
                                               MultipartUpload={"Parts": parts})
    except BaseException:
        await asyncio.shield(client.abort_multipart_upload(
            Bucket=arguments["Bucket"], Key=arguments["Key"], UploadId=upload_id))
        raise
    finally:
        writing.discard(upload_id)


async def delete_keys(client_of: Callable, bucket: str, object_keys: list[str]) -> None:
    """Delete ``object_keys``, a thousand a request (DeleteObjects)."""
    async with client_of() as client:
        for start in range(0, len(object_keys), 1000):
            batch = object_keys[start:start + 1000]
            with translated(batch[0]):
                answer = await client.delete_objects(Bucket=bucket, Delete={
                    "Objects": [{"Key": key} for key in batch], "Quiet": True})
            errors = [e for e in answer.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if errors:
                raise OSError(f"could not delete {len(errors)} object(s), the first "
                              f"{errors[0].get('Key')!r}: {errors[0].get('Code')}")


async def _listed(client_of: Callable, bucket: str, key_prefix: str) -> dict[str, int]:
    """``name -> size`` of every key under ``key_prefix`` (names relative to it)."""
    found: dict[str, int] = {}
    async with client_of() as client:
        paginator = client.get_paginator("list_objects_v2")
        with translated(key_prefix):
            async for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
                for item in page.get("Contents", []):
                    found[item["Key"][len(key_prefix):]] = int(item.get("Size", 0))
    return found


def _bare(etag: str) -> str:
    return (etag or "").strip('"')
