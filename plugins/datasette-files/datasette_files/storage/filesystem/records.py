"""A file's record (display name, content type, owner) kept in a user extended
attribute of the file itself.

An attribute, not a file beside it: it is set on the temporary file before
the rename, so the file's own fsync makes it durable and the rename makes it
appear with the bytes, atomically, at the cost of one system call and no
extra fsync or directory entry. It follows the file through renames and
moves within the filesystem (and ``cp -a``, ``rsync -X``, ``tar --xattrs``).
Where attributes are not supported (some tmpfs kernels, other systems) the
record is dropped and sync falls back to the name in storage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ...base import FileRecord

ATTRIBUTE = "user.datasette-files"
# A record is a few dozen bytes; anything far larger was not written by us.
MAX_RECORD_BYTES = 4096
_SUPPORTED = hasattr(os, "setxattr")


def keep(fd: int, record: Optional[FileRecord]) -> None:
    """Attach ``record`` to the open file ``fd``; nothing if it cannot be kept.

    Any OSError is swallowed: the record only helps a sync find the file's
    name again, and must never stop the file from being stored."""
    if record is None or not _SUPPORTED:
        return
    value = record.to_json().encode()
    try:
        os.setxattr(fd, ATTRIBUTE, value)
    except OSError:
        pass


def keep_at(path: Path, record: FileRecord) -> None:
    """Replace the record kept with the file at ``path`` (after a rename);
    nothing if it cannot be kept."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        keep(fd, record)
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read(path: Path) -> Optional[FileRecord]:
    """The record kept with the file at ``path``; None if there is none (or it
    cannot be read, or is not one of ours)."""
    if not _SUPPORTED:
        return None
    try:
        value = os.getxattr(path, ATTRIBUTE, follow_symlinks=False)
    except OSError:
        return None
    if len(value) > MAX_RECORD_BYTES:
        return None
    return FileRecord.from_json(value)
