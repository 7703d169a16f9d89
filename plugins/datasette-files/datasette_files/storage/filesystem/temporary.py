"""A root's temporary directory: partial writes (``.part``), resumable uploads'
chunks (``.chunks``), and the sweep that removes those nothing uses any more.

A partial write holds an exclusive ``flock`` on its file from the moment it is
created until it has been renamed into place or removed, so a sweep in any
process can tell it is in use, and a killed writer's lock goes with it. Chunks
wait between requests with no process holding them: whether their upload is
still alive says whether they are wanted.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
import uuid
from pathlib import Path
from typing import Awaitable, BinaryIO, Callable, Collection

PART_SUFFIX = ".part"
SPOOL_SUFFIX = ".chunks"
# Anything else here (the writability check's file, which lives for a moment)
# is removed once this old.
STALE_OTHER_SECONDS = 3600


def create_part(directory: Path) -> tuple[Path, BinaryIO]:
    """A new partial-write file in ``directory``, open for writing and locked
    until it is closed. Blocking."""
    while True:
        path = directory / f"{uuid.uuid4().hex}{PART_SUFFIX}"
        fp = open(path, "xb")
        fcntl.flock(fp, fcntl.LOCK_EX)
        if os.fstat(fp.fileno()).st_nlink:
            return path, fp
        # A sweep removed it between its creation and the lock: take another name.
        fp.close()


async def sweep(directory: Path,
                live_upload_keys: Callable[[], Awaitable[Collection[str]]]) -> int:
    """Remove what nothing uses from ``directory``: unlocked partial writes, and
    chunks of uploads whose key is not among ``live_upload_keys()``. The keys
    are asked for after the directory is listed, so an upload that begins in
    between keeps its chunks. Returns the number of files removed."""
    names = await asyncio.to_thread(os.listdir, directory)
    keys = set(await live_upload_keys())
    return await asyncio.to_thread(_remove_unused, directory, names, keys)


def _remove_unused(directory: Path, names: list[str], live_keys: set[str]) -> int:
    removed = 0
    too_old = time.time() - STALE_OTHER_SECONDS
    for name in names:
        path = directory / name
        try:
            if name.endswith(PART_SUFFIX):
                removed += _remove_unless_locked(path)
            elif name.endswith(SPOOL_SUFFIX):
                if name.removesuffix(SPOOL_SUFFIX) not in live_keys:
                    path.unlink()
                    removed += 1
            elif path.stat().st_mtime < too_old:
                path.unlink()
                removed += 1
        except OSError:  # gone meanwhile (renamed into place), or not ours to remove
            pass
    return removed


def _remove_unless_locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a write is under way
        # Removed while locked: a writer that created it a moment ago and locks
        # it now finds it unlinked, and takes another name (create_part).
        path.unlink()
        return True
    finally:
        os.close(fd)
