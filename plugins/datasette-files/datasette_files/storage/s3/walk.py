"""Finding the objects under a source's prefix: folder by folder for sync
(ListObjectsV2 with a '/' delimiter, so each folder is listed once, whole,
a few at a time, and memory follows the largest folders, not the bucket), or
one page of paths in key order
(the specification's ``list_files``)."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable, Optional

from ...base import ScannedFolder
from ...naming import is_hidden
from . import keys
from .errors import translated

# A batch of folders for sync holds about this many files, or this many folders.
BATCH_FILES = 5000
BATCH_FOLDERS = 1000
LISTINGS_AT_ONCE = 8


async def walk_folders(client_of: Callable, bucket: str, prefix: str,
                       include_hidden: bool) -> AsyncIterator[list[ScannedFolder]]:
    """Every folder under ``prefix`` with its objects' sizes and modification
    times, in batches. Folder markers (``a/b/`` keys) make a folder exist;
    keys no path could name (``a//b``) are skipped."""
    batch: list[ScannedFolder] = []
    files = 0
    stack = [""]
    while stack:
        # A few folders listed at once: a listing is a round trip to the service.
        wave = [stack.pop() for _ in range(min(len(stack), LISTINGS_AT_ONCE))]
        for scanned, subfolders in await asyncio.gather(*(
                _list_folder(client_of, bucket, prefix, folder, include_hidden)
                for folder in wave)):
            stack.extend(reversed(subfolders))
            batch.append(scanned)
            files += len(scanned.files)
        if files >= BATCH_FILES or len(batch) >= BATCH_FOLDERS:
            yield batch
            batch, files = [], 0
    if batch:
        yield batch


async def _list_folder(client_of: Callable, bucket: str, prefix: str, folder: str,
                       include_hidden: bool) -> tuple[ScannedFolder, list[str]]:
    scanned = ScannedFolder(path=folder)
    subfolders: list[str] = []
    folder_key = keys.folder_prefix(prefix, folder)
    path_prefix = f"{folder}/" if folder else ""
    async with client_of() as client:
        paginator = client.get_paginator("list_objects_v2")
        with translated(folder or "/"):
            async for page in paginator.paginate(Bucket=bucket, Prefix=folder_key,
                                                 Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(folder_key):-1]
                    if not folder and name in keys.RESERVED_NAMES:
                        continue
                    if name in ("", ".", "..") or (not include_hidden and is_hidden(name)):
                        scanned.skipped += 1
                    else:
                        subfolders.append(path_prefix + name)
                for item in page.get("Contents", []):
                    name = item["Key"][len(folder_key):]
                    if name == "":
                        continue  # the folder's own marker
                    if name in (".", "..") or (not include_hidden and is_hidden(name)):
                        scanned.skipped += 1
                        continue
                    scanned.files[name] = (int(item.get("Size", 0)), _mtime_ns(item))
    return scanned, subfolders


async def list_page(client_of: Callable, bucket: str, prefix: str, path_prefix: str,
                    cursor: Optional[str], limit: int
                    ) -> tuple[list[tuple[str, int]], Optional[str]]:
    """``([(path, size)], next_cursor)``: up to ``limit`` files whose paths
    start with ``path_prefix``, in key order, after ``cursor`` (a path)."""
    page_items: list[tuple[str, int]] = []
    arguments = {"Bucket": bucket, "Prefix": prefix + path_prefix}
    if cursor:
        arguments["StartAfter"] = prefix + cursor
    async with client_of() as client:
        paginator = client.get_paginator("list_objects_v2")
        with translated(path_prefix or "/"):
            async for page in paginator.paginate(**arguments):
                for item in page.get("Contents", []):
                    path = keys.path_of(prefix, item["Key"])
                    if path is None or keys.is_reserved(path) or any(
                            is_hidden(part) for part in path.split("/")):
                        continue
                    if len(page_items) == limit:
                        return page_items, page_items[-1][0]
                    page_items.append((path, int(item.get("Size", 0))))
    return page_items, None


def _mtime_ns(item: dict) -> Optional[int]:
    # Whole seconds, as HEAD's Last-Modified says it: the two must agree.
    modified = item.get("LastModified")
    return int(modified.timestamp()) * 10**9 if modified is not None else None
