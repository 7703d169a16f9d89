"""Names people give folders and files, checked before they name anything in
storage, and the ``on_conflict`` choice."""

from __future__ import annotations

import re
import unicodedata

from ..errors import ApiError
from ..naming import TRASH_FOLDER, display_filename, is_hidden
from ..registry.folders import MAX_NAME_BYTES
from ..registry.placing import ON_CONFLICT

MAX_FOLDER_DEPTH = 32
# A folder made or moved here has a path of at most this many bytes, everything
# in it included: room to spare below what filesystems take (4,096), with a
# stored file name (up to about 150 bytes) inside the deepest folder.
MAX_PATH_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESERVED = {TRASH_FOLDER.lower(), ".datasette-files-tmp"}


def folder_name(raw) -> str:
    """A folder's name as given, NFC, or ApiError saying what is wrong with it."""
    if not isinstance(raw, str):
        raise ApiError("A folder name must be a string")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise ApiError("A folder needs a name")
    if "/" in name or "\\" in name:
        raise ApiError(f"A folder name cannot contain '/' or '\\': {name!r}")
    if _CONTROL.search(name):
        raise ApiError("A folder name cannot contain control characters")
    if name in (".", "..") or is_hidden(name) or name.lower() in _RESERVED:
        raise ApiError(f"{name!r} cannot be used as a folder name "
                       "(names starting with '.' and system names are hidden)")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ApiError(f"A folder name can be at most {MAX_NAME_BYTES} bytes long")
    return name


def folder_path(raw, what: str = "folder") -> str:
    """A folder path ('' is the root; surrounding '/' dropped), each part checked."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ApiError(f"'{what}' must be a string: a folder path such as 'Reports/2024'")
    raw = raw.strip().strip("/")
    if not raw:
        return ""
    parts = raw.split("/")
    if len(parts) > MAX_FOLDER_DEPTH:
        raise ApiError(f"Folders nest at most {MAX_FOLDER_DEPTH} deep")
    return "/".join(folder_name(part) for part in parts)


def check_path_length(path: str, deepest_inside: int = 0) -> None:
    """ApiError if folder ``path``, with ``deepest_inside`` bytes of folders
    below it, would pass MAX_PATH_BYTES."""
    if len(path.encode("utf-8")) + deepest_inside > MAX_PATH_BYTES:
        raise ApiError(f"That folder path would be longer than {MAX_PATH_BYTES} bytes "
                       "(with the folders inside it): choose shorter names or fewer levels")


def file_name(raw) -> str:
    """A new name for a file, or ApiError."""
    if not isinstance(raw, str):
        raise ApiError("'filename' must be a string")
    if "/" in raw or "\\" in raw:
        raise ApiError("A file name cannot contain '/' or '\\': move the file to a folder instead")
    name = display_filename(raw)
    if not name:
        raise ApiError("A file needs a name")
    return name


def on_conflict(raw, default: str, allowed: tuple = ON_CONFLICT) -> str:
    if raw is None:
        return default
    if raw not in allowed:
        raise ApiError(f"'on_conflict' must be one of {', '.join(allowed)}")
    return raw


def relative_file_path(raw) -> tuple[list[str], str]:
    """The folders and the name of a file named by a path relative to a folder
    (``a/b/c.txt``, as a folder upload sends it): each folder checked as
    folder_name checks a new folder's name, the name as file_name checks it.
    ApiError for an absolute path, '.', '..' or empty parts, backslashes and
    control characters (refused, not dropped: a path is not guessed at)."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError("A file needs a name")
    if "\\" in raw:
        raise ApiError(f"A file's path uses '/' between folders, not '\\': {raw!r}")
    if _CONTROL.search(raw):
        raise ApiError(f"A file's path cannot contain control characters: {raw!r}")
    if raw.startswith("/"):
        raise ApiError(f"A file's path must be relative to the folder it goes to: {raw!r}")
    *folders, name = raw.split("/")
    if any(part.strip() in ("", ".", "..") for part in folders):
        raise ApiError(f"A file's path cannot have empty, '.' or '..' parts: {raw!r}")
    if len(folders) > MAX_FOLDER_DEPTH:
        raise ApiError(f"Folders nest at most {MAX_FOLDER_DEPTH} deep")
    return [folder_name(part) for part in folders], file_name(name)
