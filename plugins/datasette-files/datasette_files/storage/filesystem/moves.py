"""Moving files and folders inside a root, and making and removing folders:
each move one rename that never replaces what is at its destination, made
durable by syncing the directories it changed."""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Optional

from ...base import FileMissing, FileRecord, PathTaken
from . import records
from .writes import fsync_directory, raise_if_disk_full

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _load_renameat2():
    """Linux's renameat2(2) (glibc 2.28+), which refuses to replace the
    destination in the same step as the rename; None where it is missing."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    return function


_renameat2 = _load_renameat2()


def rename_no_replace(source: Path, destination: Path) -> None:
    """Rename ``source`` to ``destination`` unless something is there (PathTaken);
    FileMissing if ``source`` is gone. Blocking."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if _renameat2 is not None:
        result = _renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD,
                            os.fsencode(destination), _RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):  # else: not supported here
            _raise_for(code, source, destination)
    # Without renameat2 the check and the rename are two steps; the server
    # makes one change at a time per source, so only an outside writer could
    # slip in between.
    if os.path.lexists(destination):
        raise PathTaken(f"something is already at {destination.name!r}")
    try:
        os.rename(source, destination)
    except OSError as ex:
        _raise_for(ex.errno, source, destination)


def _raise_for(code: int, source: Path, destination: Path):
    if code == errno.EEXIST or code == errno.ENOTEMPTY:
        raise PathTaken(f"something is already at {destination.name!r}")
    if code == errno.ENOENT:
        raise FileMissing(f"{source.name!r} is not in storage")
    ex = OSError(code, os.strerror(code), str(source))
    raise_if_disk_full(ex, "to move it")
    raise ex


def move(source: Path, destination: Path, record: Optional[FileRecord] = None,
         is_file: bool = True) -> None:
    """Move a file (keeping ``record`` with it) or a folder, durably. Blocking."""
    if is_file and not source.is_file():
        raise FileMissing(f"{source.name!r} is not in storage")
    if not is_file and not source.is_dir():
        raise FileMissing(f"folder {source.name!r} is not in storage")
    rename_no_replace(source, destination)
    if record is not None:
        records.keep_at(destination, record)
    fsync_directory(destination.parent)
    if source.parent != destination.parent:
        fsync_directory(source.parent)


def make_folder(folder: Path) -> None:
    """Make ``folder`` and any above it, durably. Blocking."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise PathTaken(f"a file is already at {folder.name!r}")
        return
    fsync_directory(folder.parent)


def remove_empty_folder(folder: Path) -> bool:
    """Remove ``folder`` if it is empty; whether it went. Blocking."""
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError as ex:
        if ex.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            return False
        raise
    fsync_directory(folder.parent)
    return True
