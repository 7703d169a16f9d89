"""The public contract for storage backends and thumbnail generators.

Third-party plugins import these names. ``Storage``, ``StorageCapabilities``,
``FileMetadata``, ``ThumbnailGenerator`` and ``ThumbnailResult`` follow the
datasette-files specification exactly, so a backend written against that
document works here unchanged.

Beyond the specification, a storage may offer optional capabilities, each a
runtime-checkable protocol below (``RangeReads``, ``ResumableWrites``, ...).
datasette-files tests ``isinstance(storage, RangeReads)`` and uses the
capability when it is there, falling back to the specification's methods when
it is not; a storage implements any subset. Storages report failures with the
errors below (``FileMissing``, ``StorageFull``, ...), which datasette-files turns
into HTTP answers.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    runtime_checkable,
)

DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


# The specification's contract -------------------------------------------------


@dataclass
class StorageCapabilities:
    """What a storage backend supports."""

    can_upload: bool = False
    can_delete: bool = False
    can_list: bool = False
    can_generate_signed_urls: bool = False
    requires_proxy_download: bool = False
    max_file_size: Optional[int] = None


@dataclass
class FileMetadata:
    """A file as a storage backend describes it."""

    path: str
    filename: str
    content_type: Optional[str] = None
    content_hash: Optional[str] = None
    size: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    created_at: Optional[str] = None
    metadata: dict = field(default_factory=dict)


class Storage(ABC):
    """Base class for storage backends.

    Subclasses declare ``storage_type`` and ``capabilities``, either as class
    attributes or as properties, and implement the abstract methods. They are
    instantiated with no arguments, then ``configure()`` is awaited once.
    """

    storage_type: str
    capabilities: StorageCapabilities

    @abstractmethod
    async def configure(self, config: dict, get_secret: Callable) -> None:
        """Receive the source's ``config`` dict and a ``get_secret`` callable."""

    @abstractmethod
    async def get_file_metadata(self, path: str) -> Optional[FileMetadata]:
        """Describe the file at ``path``, or return None if it does not exist."""

    @abstractmethod
    async def read_file(self, path: str) -> bytes:
        """Return the whole content at ``path``; raise FileNotFoundError if missing."""

    async def read_bytes(self, path: str, num_bytes: int = 2048) -> bytes:
        """Return up to ``num_bytes`` from the start of the file.

        The default reads the whole file; backends should override it.
        """
        content = await self.read_file(path)
        return content[:num_bytes]

    async def stream_file(self, path: str) -> AsyncIterator[bytes]:
        """Yield the file's content in chunks.

        The default yields the whole file as one chunk; backends should override it.
        """
        yield await self.read_file(path)

    async def receive_upload(
        self, path: str, stream: AsyncIterator[bytes], content_type: str
    ) -> FileMetadata:
        """Store the chunks of ``stream`` at ``path``; required when ``can_upload``."""
        raise NotImplementedError(f"{type(self).__name__} cannot receive uploads")

    async def delete_file(self, path: str) -> None:
        """Delete the file at ``path``; required when ``can_delete``."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete files")

    async def list_files(
        self, prefix: str = "", cursor: Optional[str] = None, limit: int = 100
    ) -> tuple[list[FileMetadata], Optional[str]]:
        """Return ``(files, next_cursor)``; required when ``can_list``."""
        raise NotImplementedError(f"{type(self).__name__} cannot list files")

    async def download_url(self, path: str, expires_in: int = 300) -> str:
        """Return an expiring URL; required when ``can_generate_signed_urls``."""
        raise NotImplementedError(f"{type(self).__name__} cannot sign URLs")


@dataclass
class ThumbnailResult:
    """A generated thumbnail."""

    thumb_bytes: bytes
    content_type: str
    width: int
    height: int


class ThumbnailGenerator(ABC):
    """Base class for thumbnail generators registered by plugins.

    ``version`` (optional, beyond the specification) names the generator's
    output: change it when the same file would now give a different
    thumbnail, and browsers fetch the new one instead of their cached copy.
    """

    name: str
    version: str = "1"

    @abstractmethod
    async def can_generate(self, content_type: str, filename: str) -> bool:
        """Return True if this generator can handle the file."""

    @abstractmethod
    async def generate(
        self,
        file_bytes: bytes,
        content_type: str,
        filename: str,
        max_width: int = 200,
        max_height: int = 200,
    ) -> Optional[ThumbnailResult]:
        """Return a thumbnail, or None if this file cannot be thumbnailed."""


# Errors a storage raises --------------------------------------------------------


class StorageError(Exception):
    """Something a storage could not do. datasette-files answers each kind with
    its own HTTP status; any other exception from a storage is a server error."""


class FileMissing(StorageError, FileNotFoundError):
    """The bytes at a path are not in storage (a FileNotFoundError too, as the
    specification's ``read_file`` raises)."""


class UnsafePath(StorageError, ValueError):
    """A path that would lead outside the storage, or is not a plain relative path."""


class StorageFull(StorageError):
    """No room is left in the storage for the bytes being written."""


class StorageUnavailable(StorageError):
    """The storage cannot be reached or read right now (say, an unmounted disk)."""


class StorageBusy(StorageUnavailable):
    """The storage is busy with other writes right now: try again after
    ``retry_after`` seconds (answered 503 with Retry-After)."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


class UploadTooSlow(StorageError):
    """The client sent an upload's bytes too slowly while others waited for
    the room its write held (answered 408)."""


class PathTaken(StorageError, FileExistsError):
    """Something is already stored where a move or a new folder would go."""


class PartsRefused(StorageError):
    """The storage would not join a multipart upload's parts (a part sent again
    meanwhile, one too small): the client sends them again."""


# Optional capabilities -----------------------------------------------------------


@dataclass
class ScannedFolder:
    """One folder of a walk: ``path`` is relative to the storage's root ('' is
    the root itself)."""

    path: str
    # name -> (size in bytes, modification time in ns, or None when unknown)
    files: dict[str, tuple[int, Optional[int]]] = field(default_factory=dict)
    # Entries passed over: hidden or system files, links, unusable names.
    skipped: int = 0
    # False when the folder could not be listed: its contents are unknown, not gone.
    readable: bool = True


@runtime_checkable
class RangeReads(Protocol):
    """Streams part of a file, so a download answers a Range request (a video
    seeking, a resumed download) without reading from the start."""

    def stream_range(self, path: str, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        """Yield bytes ``start`` to ``end`` inclusive (to the end of the file if None).

        Raise ``FileMissing`` or ``UnsafePath`` before the first chunk."""


class OpenFile(Protocol):
    """A stored file held open: its size and modification time when it was
    opened, and its bytes."""

    size: int
    mtime_ns: int

    def stream_range(self, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        """Yield bytes ``start`` to ``end`` inclusive (to the end if None) of the
        file as opened, then close it. Call it once, or ``close()``."""

    async def close(self) -> None:
        """Close the file, if ``stream_range`` has not."""


@runtime_checkable
class OpenedReads(Protocol):
    """Opens a file and says what it opened, so a download checks that the bytes
    it is about to send are still those the registry describes, and sends them."""

    async def open_file(self, path: str) -> OpenFile:
        """The file at ``path``, open; ``FileMissing`` or ``UnsafePath`` if it
        cannot be."""


@runtime_checkable
class ResumableWrites(Protocol):
    """Receives an upload in chunks, each durable once acknowledged, so a client
    that lost its connection goes on from the last acknowledged byte.

    ``key`` names the upload (letters, digits, '-' and '_'). ``sha256`` is a
    running ``hashlib.sha256()`` the storage updates with each chunk's bytes."""

    async def write_chunk(self, key: str, offset: int, stream: AsyncIterator[bytes],
                          sha256) -> int:
        """Write ``stream`` at ``offset`` of upload ``key``, dropping anything past
        ``offset`` first; return the number of bytes written, all durable. On
        failure, nothing past ``offset`` remains."""

    async def spooled_sha256(self, key: str, length: int):
        """A sha256 of the first ``length`` bytes of upload ``key`` to go on from
        (after a restart), or None if fewer bytes are held."""

    async def finish_chunks(self, key: str, path: str) -> None:
        """Make the complete upload ``key`` the file at ``path``."""

    async def discard_chunks(self, key: str) -> None:
        """Forget upload ``key``'s bytes (nothing happens if there are none)."""


@runtime_checkable
class BatchWrites(Protocol):
    """Stores many small files at once, from a worker thread: the registry's
    writer stores a batch of uploaded files just before it commits their rows,
    so each file is in place before its row exists."""

    def write_files_blocking(self, files: Sequence[tuple[str, bytes]]) -> list[Optional[Exception]]:
        """Store each ``(path, content)`` durably; blocking. One entry per file:
        None when it was stored, else the error (a ``StorageError`` when it is
        the storage's to report). A failed file leaves nothing behind."""


@dataclass(frozen=True)
class FileRecord:
    """What the registry knows of a stored file that its bytes and storage name do
    not tell: the name shown to people (the storage name holds only an ASCII
    form of it), the content type declared at upload, and who uploaded it."""

    filename: str
    content_type: Optional[str] = None
    uploaded_by: Optional[str] = None

    def to_json(self, ascii_only: bool = False) -> str:
        """The record as the compact JSON a storage keeps (fields that are None left out)."""
        fields = {"filename": self.filename, "content_type": self.content_type,
                  "uploaded_by": self.uploaded_by}
        return json.dumps({k: v for k, v in fields.items() if v is not None},
                          ensure_ascii=ascii_only, separators=(",", ":"))

    @classmethod
    def from_json(cls, value) -> Optional["FileRecord"]:
        """The record ``to_json`` wrote; None for anything else (a storage reads
        what others may have written too)."""
        try:
            fields = json.loads(value)
        except (TypeError, ValueError):
            return None
        if not isinstance(fields, dict) or not isinstance(fields.get("filename"), str) or any(
                not isinstance(fields.get(key), (str, type(None)))
                for key in ("content_type", "uploaded_by")):
            return None
        return cls(fields["filename"], fields.get("content_type"), fields.get("uploaded_by"))


@runtime_checkable
class FileRecords(Protocol):
    """Keeps a ``FileRecord`` beside each file it stores, written in the same
    step as the bytes, so a file whose registry row was lost (a restored
    backup, a lost database) comes back through sync as itself: its id (from
    the storage name), its display name and its owner.

    ``receive_upload`` takes the record; so do ``finish_chunks`` (a ``record``)
    and ``write_files_blocking`` (one per file, in ``records``) when the storage
    has those capabilities too. A record that cannot be kept (a filesystem
    without extended attributes, say) is dropped silently: the file is stored
    all the same."""

    async def receive_upload(self, path: str, stream: AsyncIterator[bytes], content_type: str,
                             *, record: Optional[FileRecord] = None) -> FileMetadata:
        """``Storage.receive_upload``, keeping ``record`` with the bytes."""

    async def stored_records(self, paths: Sequence[str]) -> dict[str, Optional[FileRecord]]:
        """``path -> FileRecord`` kept with the file, or None when there is none."""


@dataclass(frozen=True)
class StoredId:
    """A file id kept in the metadata of a file whose storage name does not
    hold one (a file some other tool stored), with the record kept beside it."""

    file_id: str
    record: Optional[FileRecord] = None


@runtime_checkable
class FileIdStamps(Protocol):
    """Keeps a file's id (and its ``FileRecord``) in the metadata of a file
    stored by someone else, one whose storage name holds no id, without
    rewriting its bytes: a registry rebuilt from the storage (a lost
    database) gives the file the same id again.

    Sync asks for the ids of such files it finds with no row, reuses an id no
    other row holds, and stamps the files it gives a new id (on writable
    sources only), before their rows are committed. Stamping may change what a
    walk reports of the file (an object's modification time): it returns
    the new size and modification time, which sync registers, so the file is
    not seen as changed by the next sync."""

    async def stored_file_ids(self, paths: Sequence[str]) -> dict[str, Optional[StoredId]]:
        """``path -> StoredId`` kept with the file, or None when there is none."""

    async def stamp_file_ids(self, stamps: Sequence[tuple[str, str, FileRecord]]
                             ) -> dict[str, Optional[tuple[int, Optional[int]]]]:
        """Keep ``(path, file_id, record)`` with each file, leaving its bytes,
        type and other metadata as they are. ``path -> (size, mtime_ns)`` as
        ``walk_folders`` reports the file after the stamp, or None for a file
        not stamped (gone, or refused: it keeps its bytes, without the id)."""


@runtime_checkable
class FolderWalks(Protocol):
    """Lists the whole tree folder by folder, with sizes and modification times:
    how sync finds new, changed and vanished files."""

    def walk_folders(self, include_hidden: bool = False) -> AsyncIterator[list[ScannedFolder]]:
        """Yield batches of folders (every folder once, in any order). Hidden and
        system files are skipped unless ``include_hidden``."""


@runtime_checkable
class ContentHashes(Protocol):
    """Hashes stored files where the bytes are, without streaming them through
    the event loop."""

    async def content_hashes(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        """``path -> "sha256:<hex>"``, or None for a file that cannot be read now."""


@runtime_checkable
class FreeSpace(Protocol):
    """Knows how many bytes it can still store."""

    async def free_space(self) -> int:
        """Bytes that can be written now."""


@runtime_checkable
class HealthChecks(Protocol):
    """Can tell whether it works right now (for /-/health and sync)."""

    async def check_health(self, writable: bool) -> None:
        """Return if the storage can be read (and written, when ``writable``);
        raise ``StorageUnavailable`` saying why not."""


@runtime_checkable
class TemporaryFileSweeps(Protocol):
    """Keeps temporary files (partial writes, resumable uploads' chunks) and can
    remove those nothing uses any more: what a killed process or a cut-off
    upload left behind."""

    async def sweep_temporary_files(
            self, live_upload_keys: Callable[[], Awaitable[Collection[str]]]) -> int:
        """Remove every temporary file no write (of any process) is using, and
        the chunks of every resumable upload whose key is not among
        ``await live_upload_keys()``; asked after the files are found, so an
        upload that starts meanwhile keeps its chunks. Returns how many went."""


@runtime_checkable
class Moves(Protocol):
    """Renames and moves files and folders inside the storage without copying
    their bytes, each in one atomic step. A storage with this capability keeps
    folders as the paths say: a file in folder ``a/b`` is stored under ``a/b/``,
    so renaming or moving a folder moves everything in it. Without it, folders
    are the registry's alone, and a file keeps the path it was stored under."""

    async def move_file(self, path: str, new_path: str, *,
                        record: Optional[FileRecord] = None) -> None:
        """Move the file at ``path`` to ``new_path`` (its folders are made as needed),
        keeping ``record`` with it if the storage keeps records. ``FileMissing`` if
        there is no file at ``path``; ``PathTaken`` if ``new_path`` exists."""

    async def move_folder(self, path: str, new_path: str) -> None:
        """Move the folder at ``path``, with everything in it, to ``new_path``.
        ``FileMissing`` if it is not there; ``PathTaken`` if ``new_path`` exists."""


@runtime_checkable
class PartialDiscards(Protocol):
    """Removes what a failed or abandoned upload may have left at a path
    without the side effects of ``delete_file`` (a storage whose folders exist
    only through their keys keeps the folder a deleted file leaves empty; an
    upload's bytes were never part of their folder, which may have been moved
    or deleted since, and must not bring it back)."""

    async def discard_partial(self, path: str) -> None:
        """Remove the bytes at ``path``, if any; nothing else changes."""


@runtime_checkable
class FolderMaking(Protocol):
    """Makes and removes real folders, so an empty folder exists in storage too
    (and sync finds folders made outside the server)."""

    async def make_folder(self, path: str) -> None:
        """Make the folder at ``path`` and any above it (nothing if it exists)."""

    async def remove_empty_folder(self, path: str) -> bool:
        """Remove the folder at ``path`` if it holds nothing; whether it went."""


@dataclass(frozen=True)
class PresignedPost:
    """A form that stores one object when posted to ``url``: send ``fields``,
    then the file in a field named ``file`` (S3's POST Object)."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class UploadedPart:
    """One part of a multipart upload as the storage holds it."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class DirectObject:
    """An object a client stored directly, as the storage describes it: its size,
    its SHA-256 (``sha256:<hex>``) when the storage computed or checked one, and
    whether it carries its ``FileRecord``."""

    size: int
    content_hash: Optional[str] = None
    has_record: bool = False
    # The storage's version tag (an S3 ETag): a copy of exactly these bytes.
    etag: Optional[str] = None


@runtime_checkable
class DirectUploads(Protocol):
    """Takes an upload's bytes from the client itself, through presigned
    requests, so they never pass through the server (object storage: S3's POST
    Object and multipart upload).

    ``direct_uploads_ready`` says whether browsers may send to it now (the
    bucket's CORS rules allow this site); when False, uploads go through the
    server as usual. Paths are storage paths, as for every other method."""

    @property
    def direct_uploads_ready(self) -> bool:
        """Whether presigned uploads can be offered now."""

    @property
    def single_request_limit(self) -> int:
        """The largest object one presigned POST may store; bigger needs multipart
        (0: the storage takes no POST, and every direct upload goes in parts)."""

    @property
    def part_size(self) -> int:
        """The size of every part of a multipart upload but the last."""

    async def presigned_post(self, staged_as: str, content_type: str, size: int,
                             expires_in: int, sha256: Optional[str] = None) -> PresignedPost:
        """A form that stores exactly ``size`` bytes of ``content_type`` in the
        staging place ``staged_as`` (one per upload, never a file's own path: a
        form reposted after complete must not reach the file), valid for
        ``expires_in`` seconds; with ``sha256`` (hex) the storage refuses other
        bytes, where it keeps checksums."""

    async def staged_object(self, staged_as: str) -> Optional[DirectObject]:
        """What a presigned POST stored at ``staged_as``, or None."""

    async def place_staged(self, staged_as: str, staged: DirectObject, path: str,
                           content_type: str, record: FileRecord) -> Optional[DirectObject]:
        """Copy exactly the ``staged`` object (its etag) to ``path`` with ``record``,
        then remove it from staging; what is at ``path`` now, or None if the
        staged object changed meanwhile."""

    async def discard_staged(self, staged_as: str) -> None:
        """Remove whatever is at ``staged_as`` (nothing happens if it is gone)."""

    async def start_multipart(self, path: str, content_type: str,
                              record: FileRecord) -> str:
        """Begin a multipart upload to ``path``; its upload id."""

    async def presigned_part_urls(self, path: str, upload_id: str,
                                  part_sizes: Mapping[int, int],
                                  expires_in: int) -> dict[int, str]:
        """``part number -> URL`` a client PUTs that part's bytes to; each URL
        takes exactly the part's size from ``part_sizes``."""

    async def uploaded_parts(self, path: str, upload_id: str) -> Optional[list[UploadedPart]]:
        """The parts the storage holds, by number; None if the upload is gone
        (aborted, completed, or never begun)."""

    async def complete_multipart(self, path: str, upload_id: str,
                                 parts: Sequence[UploadedPart]) -> None:
        """Join ``parts`` into the object at ``path`` (nothing happens if the upload
        is gone: joined already, or aborted, which the object at ``path`` tells)."""

    async def abort_multipart(self, path: str, upload_id: str) -> None:
        """Abandon the upload and free its parts (nothing happens if it is gone)."""

    async def direct_object(self, path: str) -> Optional[DirectObject]:
        """What a client stored at ``path``, or None if nothing is there."""

    async def keep_record(self, path: str, record: FileRecord) -> None:
        """Attach ``record`` to the object at ``path`` (one stored without it)."""

@runtime_checkable
class AttachmentUrls(Protocol):
    """Signs download URLs whose answer names the file: the specification's
    ``download_url(path, expires_in)`` knows only the storage path, so a
    storage that signs URLs (``can_generate_signed_urls``) and has this is
    handed the registered name and type, and its URL's answer is an
    ``attachment`` called that (RFC 6266), of that type."""

    async def attachment_url(self, path: str, filename: str, content_type: Optional[str],
                             expires_in: int = 300) -> str:
        """An expiring URL answering the bytes at ``path`` as an attachment
        called ``filename``, of ``content_type`` (when given)."""


@runtime_checkable
class StartupChecks(Protocol):
    """Checks (and prepares) what it stores into once, at start-up, knowing
    whether its source may write: say, a bucket's CORS rules."""

    async def check_at_start(self, writable: bool) -> None:
        """Raise ``ConfigError`` (datasette_files.errors) for a problem that
        must stop start-up; log the others."""


@runtime_checkable
class Closing(Protocol):
    """Holds connections (or other resources) to release at shutdown."""

    async def close(self) -> None:
        """Release them; the storage may open them again if used afterwards."""
