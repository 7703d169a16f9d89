"""Ids, display names, storage paths and content types.

Filenames are display data only: storage paths are generated here from the
file id and a sanitised form of the name, so no client-supplied string ever
names a location in storage.
"""

from __future__ import annotations

import datetime
import mimetypes
import re
import secrets
import unicodedata
import urllib.parse
from typing import NamedTuple, Optional

from ulid import ULID

MAX_FILENAME_CHARS = 255
# Keeps on-disk names recognisable while staying short and portable.
MAX_STORED_NAME_BYTES = 120
_UNSAFE_STORED_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# C0 controls and DEL, and the bidirectional controls (LRM/RLM, ALM, the
# embeddings, overrides and isolates): "résumé\u202egnp.exe" would read
# "résumé exe.png".
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MIME_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def new_file_id() -> str:
    """``df-`` followed by a lowercase ULID, as in the spec's examples."""
    return f"df-{str(ULID()).lower()}"


def new_upload_token() -> str:
    # A ULID sorts tokens by time; the random tail makes them unguessable.
    return f"tok_{str(ULID()).lower()}{secrets.token_urlsafe(18)}"


def display_filename(raw: str) -> str:
    """The name shown to people: the last path component, without control
    characters, at most MAX_FILENAME_CHARS characters; empty if nothing is left."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL_CHARS.sub("", unicodedata.normalize("NFC", name)).strip()
    if name in (".", ".."):
        return ""
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 16 else ""
        name = name[: MAX_FILENAME_CHARS - len(ext)] + ext
    return name


def storage_path(file_id: str, filename: str) -> str:
    """``{file_id}-{ascii name}``: unique by id, recognisable by name, and
    made only of letters, digits, '.', '_' and '-'."""
    ascii_name = (
        unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    )
    safe = _UNSAFE_STORED_CHARS.sub("_", ascii_name).strip("._-")
    safe = safe[-MAX_STORED_NAME_BYTES:].lstrip("._-") or "file"
    return f"{file_id}-{safe}"


class StorageName(NamedTuple):
    """A name ``storage_path`` made: the file's id and the ASCII form of its name."""

    file_id: str
    ascii_name: str

    @property
    def id_time(self) -> datetime.datetime:
        """When the id was made (the upload began): its ULID's timestamp."""
        return ULID.from_str(self.file_id.removeprefix("df-")).datetime


def parse_storage_name(name: str) -> Optional[StorageName]:
    """The id and ASCII name in ``name`` if ``storage_path`` could have made it
    (a lowercase id whose ULID decodes, then a name it would not change);
    None for any other name."""
    match = _STORAGE_NAME.fullmatch(name)
    if not match or storage_path(*match.groups()) != name:
        return None
    try:
        ULID.from_str(match[1].removeprefix("df-"))
    except ValueError:  # past the largest timestamp a ULID holds
        return None
    return StorageName(*match.groups())


def storage_name_time(name: str) -> Optional[datetime.datetime]:
    """When the file stored under ``name`` got its id (its upload began), from
    the ULID in the name; None for a name ``storage_path`` did not make."""
    parsed = parse_storage_name(name)
    return parsed.id_time if parsed else None


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment`` (or ``inline``) with an ASCII fallback and the exact name
    per RFC 6266: for our downloads, and for a storage's presigned ones."""
    fallback = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename
    ) or "download"
    encoded = urllib.parse.quote(filename, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def is_valid_content_type(value: str) -> bool:
    return bool(_MIME_TYPE.match(value))


def content_type_for(filename: str, declared: str | None) -> str:
    """The declared type if it is a valid MIME type, else a guess from the name."""
    if declared:
        return declared.split(";")[0].strip().lower()
    return mimetypes.guess_type(filename)[0] or DEFAULT_CONTENT_TYPE


# Where a storage that moves files keeps what is in the trash: a hidden folder at
# its root, never walked by sync nor shown.
TRASH_FOLDER = ".datasette-files-trash"

HIDDEN_NAMES = {"thumbs.db", "desktop.ini", "$recycle.bin", "system volume information",
                "lost+found", "icon\r"}


def is_hidden(name: str) -> bool:
    """Dotfiles and the system files that operating systems leave in shares."""
    return name.startswith(".") or name.lower() in HIDDEN_NAMES


# A file id: "df-" and a ULID (Crockford's base 32, either case).
FILE_ID_PATTERN = r"df-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}"
# A name storage_path made: a lowercase id (as new_file_id makes them), '-', a name.
_STORAGE_NAME = re.compile(r"(df-[0-9a-hjkmnp-tv-z]{26})-(.+)")
