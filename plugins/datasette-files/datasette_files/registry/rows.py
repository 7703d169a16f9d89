"""The registry's rows, as the rest of the plugin sees them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from ..clock import parse_timestamp


@dataclass
class FileRow:
    """A registered file: where its bytes are, and what is known about them."""

    seq: Optional[int]  # the row's order of registration; None until registered
    id: str
    source_slug: str
    path: str  # where the bytes are in the source's storage
    filename: str  # the name shown to people
    content_type: str
    content_hash: Optional[str]  # "sha256:<hex>"; None until hashed
    size: Optional[int]
    width: Optional[int]
    height: Optional[int]
    uploaded_by: Optional[str]  # the uploader's actor id
    created_at: str  # "YYYY-MM-DD HH:MM:SS", UTC
    metadata: dict = field(default_factory=dict)
    search_text: str = ""
    folder: str = ""  # the folder of ``path`` ('' for the root)
    # The bytes' modification time as last seen in storage; None until seen.
    mtime_ns: Optional[int] = None
    # Attempts to hash the current bytes that failed (retried later, backing off).
    hash_failures: int = 0

    @property
    def content_hash_state(self) -> str:
        """"hashed"; "pending" until the bytes are hashed; "failed" while the
        last attempt to read them failed (it is tried again later)."""
        if self.content_hash:
            return "hashed"
        return "failed" if self.hash_failures else "pending"

    @property
    def modified_ns(self) -> int:
        """When the bytes were last modified, in nanoseconds since the epoch:
        their mtime once seen in storage, else the registration (the value
        files.MODIFIED_NS_SQL sorts by)."""
        if self.mtime_ns is not None:
            return self.mtime_ns
        return int(parse_timestamp(self.created_at).timestamp()) * 1_000_000_000

    @classmethod
    def from_sql(cls, row) -> "FileRow":
        """From a row selected as FILE_COLUMNS (a tuple or sqlite3.Row)."""
        values = list(row)
        values[METADATA_INDEX] = _json_object(values[METADATA_INDEX])
        return cls(*values)

    def as_sql_params(self) -> dict:
        """Named parameters for an INSERT of the writable columns (not ``seq``)."""
        params = {name: getattr(self, name) for name in WRITABLE_FILE_COLUMNS}
        params["metadata"] = json.dumps(self.metadata)
        return params

    def as_dict(self) -> dict:
        return asdict(self)


FILE_COLUMN_NAMES = [f.name for f in fields(FileRow)]
FILE_COLUMNS = ", ".join(FILE_COLUMN_NAMES)
WRITABLE_FILE_COLUMNS = [name for name in FILE_COLUMN_NAMES if name != "seq"]
METADATA_INDEX = FILE_COLUMN_NAMES.index("metadata")


def insert_file(conn, file: FileRow) -> FileRow:
    """Insert ``file``'s row (in a write function); the row as inserted."""
    params = file.as_sql_params()
    return FileRow.from_sql(conn.execute(
        f"INSERT INTO datasette_files_files ({', '.join(params)}) "
        f"VALUES ({', '.join(':' + key for key in params)}) RETURNING {FILE_COLUMNS}",
        params).fetchone())


def file_columns(alias: str) -> str:
    """FILE_COLUMNS, each prefixed with a table alias."""
    return ", ".join(f"{alias}.{name}" for name in FILE_COLUMN_NAMES)


@dataclass
class UploadRow:
    """An upload between prepare and complete, named by its token."""

    token: str
    file_id: str
    source_slug: str
    actor_id: Optional[str]
    path: str
    filename: str
    content_type: str
    declared_size: Optional[int]
    status: str  # prepared -> uploaded -> completed
    created_at: str
    expires_at: str
    received_bytes: int = 0
    content_hash: Optional[str] = None
    folder: str = ""  # where the file goes
    on_conflict: str = "rename"  # what happens if its name is taken there
    # "server": the bytes come through us; "direct": one presigned POST to the
    # storage; "multipart": presigned parts (DirectUploads).
    transfer: str = "server"
    multipart_id: Optional[str] = None  # the storage's upload id, once begun
    part_size: Optional[int] = None  # bytes in every part but the last
    object_path: Optional[str] = None  # where the client stores the object

    @classmethod
    def from_sql(cls, row) -> "UploadRow":
        return cls(**dict(row))


@dataclass
class ImportJob:
    """A CSV import: what goes where, and how far it has got."""

    id: str
    file_id: str
    actor_id: Optional[str]
    database_name: str
    table_name: str
    delimiter: str
    has_header: bool
    encoding: str
    status: str  # queued, running, done, failed, interrupted
    created_at: str
    total_bytes: Optional[int] = None
    rows_imported: int = 0
    bytes_read: int = 0
    ragged_rows: int = 0
    message: Optional[str] = None
    error: Optional[str] = None
    finished_at: Optional[str] = None

    @classmethod
    def from_sql(cls, row) -> "ImportJob":
        job = cls(**dict(row))
        job.has_header = bool(job.has_header)
        return job


@dataclass
class StoredThumbnail:
    """A generated thumbnail of a file at one size, or a generator's recorded
    failure, and what it was made from."""

    file_id: str
    size: int
    generator: str
    created_at: str
    content_hash: Optional[str] = None  # the bytes it was made from
    generator_version: Optional[str] = None
    content_type: Optional[str] = None
    thumb: Optional[bytes] = None
    width: Optional[int] = None
    height: Optional[int] = None
    error: Optional[str] = None


def _json_object(text: Optional[str]) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
