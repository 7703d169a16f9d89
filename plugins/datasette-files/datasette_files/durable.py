"""Making files durable: what must reach the disk before a file is registered."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries to disk: a rename into it is durable only then."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def rename_into_place(temp: Path, final: Path) -> Path:
    """Rename fsynced ``temp`` to ``final``; the directory to flush for the
    rename to be durable."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, final)
    return final.parent


def move_into_place(temp: Path, final: Path) -> None:
    """Rename fsynced ``temp`` to ``final`` and flush ``final``'s directory."""
    fsync_directory(rename_into_place(temp, final))
