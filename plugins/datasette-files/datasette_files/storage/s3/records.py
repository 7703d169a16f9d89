"""A file's record (display name, content type, owner) and id, kept in the
object's own user metadata (``x-amz-meta-*``), written in the same request as
the bytes, so a registry rebuilt from the bucket finds them again.

S3 metadata values are ASCII header values, and all of an object's user
metadata must fit in 2 KiB: the record is JSON with non-ASCII characters
escaped; one that would not fit is dropped (the file is stored all the same,
as the contract allows).
"""

from __future__ import annotations

from typing import Optional

from ...base import FileRecord
from ...naming import parse_storage_name

RECORD_KEY = "datasette-files"
FILE_ID_KEY = "datasette-files-id"
# Set by a move's copy: the ETag of the object it copied, so a move cut short
# between its copy and its delete is recognised and finished, not doubled.
COPY_OF_KEY = "datasette-files-copy-of"
MAX_METADATA_BYTES = 2048


def metadata_for(path: str, record: Optional[FileRecord],
                 file_id: Optional[str] = None) -> dict[str, str]:
    """The user metadata to store with the object at ``path``: the id in its
    name, or else ``file_id`` (a file stored by another tool, stamped)."""
    metadata: dict[str, str] = {}
    name = parse_storage_name(path.rpartition("/")[2])
    if name is not None:
        metadata[FILE_ID_KEY] = name.file_id
    elif file_id is not None:
        metadata[FILE_ID_KEY] = file_id
    if record is not None:
        value = record.to_json(ascii_only=True)  # header values are ASCII
        if _size({**metadata, RECORD_KEY: value}) <= MAX_METADATA_BYTES - 200:
            metadata[RECORD_KEY] = value
    return metadata


def record_from(metadata: dict) -> Optional[FileRecord]:
    """The record in an object's user metadata; None if there is none (or it is
    not one of ours)."""
    value = (metadata or {}).get(RECORD_KEY)
    if not isinstance(value, str) or len(value) > MAX_METADATA_BYTES:
        return None
    return FileRecord.from_json(value)


def file_id_from(metadata: dict) -> Optional[str]:
    """The file id in an object's user metadata; None if there is none, or it
    is not an id we make."""
    value = (metadata or {}).get(FILE_ID_KEY)
    if not isinstance(value, str) or len(value) > 64 or parse_storage_name(f"{value}-x") is None:
        return None
    return value


def fitted(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` within S3's 2 KiB of user metadata: another tool's entries
    and the id kept, our record dropped if it is what would not fit (the
    service refuses the whole request otherwise)."""
    if _size(metadata) > MAX_METADATA_BYTES and RECORD_KEY in metadata:
        return {k: v for k, v in metadata.items() if k != RECORD_KEY}
    return metadata


def _size(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
