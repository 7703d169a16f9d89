"""Finding the files under a root: folder by folder (sync), or one sorted page
at a time (the specification's ``list_files``)."""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator, Iterator, Optional

from ...base import ScannedFolder
from ...naming import is_hidden
from .paths import RESERVED_NAMES, Root

# A batch of folders for sync holds about this many files, or this many folders.
BATCH_FILES = 5000
BATCH_FOLDERS = 1000


async def walk_folders(root: Root, include_hidden: bool) -> AsyncIterator[list[ScannedFolder]]:
    """Every folder under the root with its regular files, in batches, walked off
    the event loop (one trip a batch)."""
    walk = _walk(root, include_hidden)
    while batch := await asyncio.to_thread(_next_batch, walk):
        yield batch


def _next_batch(walk: Iterator[ScannedFolder]) -> list[ScannedFolder]:
    batch, files = [], 0
    for folder in walk:
        batch.append(folder)
        files += len(folder.files)
        if files >= BATCH_FILES or len(batch) >= BATCH_FOLDERS:
            break
    return batch


def _walk(root: Root, include_hidden: bool) -> Iterator[ScannedFolder]:
    """Never follows symlinks; skips hidden and system files unless asked, and
    names that are not valid UTF-8 (they cannot be stored or shown). A folder
    that cannot be listed is yielded with ``readable=False``."""
    stack = [(str(root.directory), "")]
    while stack:
        directory, folder = stack.pop()
        scanned = ScannedFolder(path=folder)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            scanned.readable = False
            yield scanned
            continue
        prefix = f"{folder}/" if folder else ""
        for entry in entries:
            name = entry.name
            if not folder and name in RESERVED_NAMES:
                continue
            if entry.is_symlink() or (not include_hidden and is_hidden(name)) \
                    or not _is_utf8(name):
                scanned.skipped += 1
            elif entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, prefix + name))
            elif entry.is_file(follow_symlinks=False):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:  # gone since the listing
                    continue
                scanned.files[name] = (stat.st_size, stat.st_mtime_ns)
        yield scanned


def list_page(root: Root, prefix: str, cursor: Optional[str],
              limit: int) -> tuple[list[tuple[str, int]], Optional[str]]:
    """``([(path, size)], next_cursor)``: up to ``limit`` files whose paths start
    with ``prefix``, in path order, after ``cursor`` (a path). Folders entirely
    before the cursor or outside the prefix are not entered, so a page costs
    about the same wherever it starts."""
    page: list[tuple[str, int]] = []
    for path, size in _sorted_files(root.directory, "", prefix, cursor):
        if len(page) == limit:
            return page, page[-1][0]
        page.append((path, size))
    return page, None


def _sorted_files(directory, folder: str, prefix: str,
                  cursor: Optional[str]) -> Iterator[tuple[str, int]]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    # Sorted as full path strings sort: a folder's files follow its name and "/".
    keyed = []
    for entry in entries:
        if (not folder and entry.name in RESERVED_NAMES) or entry.is_symlink() \
                or is_hidden(entry.name) or not _is_utf8(entry.name):
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        keyed.append((folder + entry.name + ("/" if is_dir else ""), is_dir, entry))
    for key, is_dir, entry in sorted(keyed, key=lambda item: item[0]):
        if is_dir:
            inside_prefix = key.startswith(prefix) or prefix.startswith(key)
            before_cursor = cursor is not None and key < cursor and not cursor.startswith(key)
            if inside_prefix and not before_cursor:
                yield from _sorted_files(entry.path, key, prefix, cursor)
        elif key.startswith(prefix) and (cursor is None or key > cursor) \
                and entry.is_file(follow_symlinks=False):
            try:
                yield key, entry.stat(follow_symlinks=False).st_size
            except OSError:  # gone since the listing
                continue


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as surrogates
        return False
    return True
