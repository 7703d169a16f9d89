"""Storage paths <-> object keys: the one choke point between paths from the
registry or a caller and the bucket.

A path is checked as the filesystem storage checks it (no '..', '.', empty
segments, absolute paths, backslashes or NULs), then put under the source's
prefix. Keys under the prefix that no path could name (a key ending in '/',
a '//' ...) are the bucket's own business: never listed, never synced.
"""

from __future__ import annotations

from typing import Optional

from ...base import UnsafePath
from ...naming import TRASH_FOLDER

# S3 keys are at most 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
# Where presigned POSTs put a file until complete copies it into place: a
# hidden folder of the server's own (one key per upload, named as its file).
STAGING_FOLDER = ".datasette-files-uploads"
# Folders of the server's own at the source's root: never walked, listed or synced.
RESERVED_NAMES = frozenset({TRASH_FOLDER, STAGING_FOLDER})


def check_path(path: str) -> str:
    """``path`` if it is a plain relative storage path; else UnsafePath."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise UnsafePath(f"invalid storage path {path!r}")
    if path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")):
        raise UnsafePath(f"storage path {path!r} is not a plain relative path")
    return path


def object_key(prefix: str, path: str) -> str:
    """The key of storage path ``path`` under ``prefix``."""
    key = prefix + check_path(path)
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise UnsafePath(f"storage path {path[:80]!r}... is too long for an object key")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath(f"storage path {path!r} is not valid UTF-8") from None
    return key


def staging_key(prefix: str, name: str) -> str:
    """The key a presigned POST of the upload of file ``name`` (a storage name)
    stores at, under the source's staging folder."""
    if "/" in name:
        raise UnsafePath(f"staging name {name!r} is not one segment")
    return object_key(prefix, f"{STAGING_FOLDER}/{name}")


def folder_prefix(prefix: str, path: str) -> str:
    """The key prefix of everything in folder ``path`` ('' is the source's root)."""
    return prefix if path == "" else object_key(prefix, path) + "/"


def path_of(prefix: str, key: str) -> Optional[str]:
    """The storage path of ``key``; None for a key outside the prefix or one no
    path names (a folder marker, empty segments, '..')."""
    if not key.startswith(prefix):
        return None
    path = key[len(prefix):]
    try:
        return check_path(path)
    except UnsafePath:
        return None


def is_reserved(path: str) -> bool:
    """Whether ``path`` is inside one of the server's own root folders."""
    return path.split("/", 1)[0] in RESERVED_NAMES
