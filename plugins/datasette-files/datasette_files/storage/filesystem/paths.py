"""The one choke point between storage paths and the local filesystem."""

from __future__ import annotations

import os
from pathlib import Path

from ...base import UnsafePath
from ...naming import TRASH_FOLDER

# Partial uploads and resumable uploads' chunks live here, inside the root (so a
# rename into place never crosses filesystems), hidden from walks and listings.
TEMP_DIR_NAME = ".datasette-files-tmp"
# The server's own folders at the root: never walked, listed or synced.
RESERVED_NAMES = frozenset({TEMP_DIR_NAME, TRASH_FOLDER})


class Root:
    """A storage root: every path from the registry or a caller is resolved here."""

    def __init__(self, directory: Path):
        # Canonical: a root reached through a symlink (/data -> /mnt/data) is fine,
        # and every check compares against where the files really are.
        self.directory = Path(os.path.realpath(directory))
        self.temp = self.directory / TEMP_DIR_NAME

    def resolve(self, path: str) -> Path:
        """The filesystem path of storage path ``path``, inside the root; else UnsafePath.

        Only plain relative paths are accepted (no '..', '.', empty parts,
        backslashes or NULs), and a path whose symlinks lead outside the root
        is refused.
        """
        if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
            raise UnsafePath(f"invalid storage path {path!r}")
        parts = path.split("/")
        if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise UnsafePath(f"storage path {path!r} is not a plain relative path")
        full = self.directory.joinpath(*parts)
        if len(parts) == 1 and not os.path.islink(full):
            return full  # directly in the (canonical) root and not a symlink: inside
        real = Path(os.path.realpath(full))
        if real != self.directory and self.directory not in real.parents:
            raise UnsafePath(f"storage path {path!r} leads outside the root")
        return full
