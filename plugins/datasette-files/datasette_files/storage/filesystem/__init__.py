"""The built-in ``filesystem`` storage: files in a directory on local disk.

Beyond the specification's methods it offers every optional capability in
``datasette_files.base``: ranged and opened reads, resumable and batched
writes, file records kept with the bytes, moves and real folders, folder walks,
hashing in place, free space and health checks, and sweeps of its temporary
files.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Collection, Optional, Sequence

from ...base import (
    DEFAULT_MAX_FILE_SIZE,
    FileMetadata,
    FileRecord,
    ScannedFolder,
    Storage,
    StorageCapabilities,
    StorageUnavailable,
)
from ...errors import ConfigError
from . import moves, reads, records, temporary, walk, writes
from .paths import TEMP_DIR_NAME, Root
from .spool import Spool

__all__ = ["FilesystemStorage", "TEMP_DIR_NAME"]
SYNC_THREADS = 8


class FilesystemStorage(Storage):
    """Stores files under ``root``; uploads are written to a temporary file,
    fsynced and renamed into place, so a partial write is never visible."""

    storage_type = "filesystem"

    def __init__(self) -> None:
        self._root: Optional[Root] = None
        self._spool: Optional[Spool] = None
        self.max_file_size = DEFAULT_MAX_FILE_SIZE
        # The threads a batch of small files is fsynced on, all at once.
        self._syncs = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="datasette-files-fsync")

    @property
    def root(self) -> Path:
        """The (canonical) directory the files are in."""
        return self._root.directory

    @property
    def capabilities(self) -> StorageCapabilities:
        return StorageCapabilities(
            can_upload=True,
            can_delete=True,
            can_list=True,
            can_generate_signed_urls=False,
            requires_proxy_download=True,
            max_file_size=self.max_file_size,
        )

    async def configure(self, config: dict, get_secret: Callable) -> None:
        if not isinstance(config, dict) or not config.get("root"):
            raise ConfigError(
                "filesystem storage needs a 'root' key in its config: "
                "the directory where files are stored"
            )
        self.max_file_size = _parse_max_file_size(config.get("max_file_size"))
        directory = Path(str(config["root"])).expanduser().absolute()
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"root {str(directory)!r} exists but is not a directory")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as ex:
            raise ConfigError(f"root {str(directory)!r} could not be created: {ex.strerror}")
        self._root = Root(directory)
        self._spool = Spool(self._root.temp)
        try:
            self._root.temp.mkdir(exist_ok=True)
            self._check_writable()
        except OSError as ex:
            raise ConfigError(f"root {str(self.root)!r} is not writable: {ex.strerror}")

    def resolve(self, path: str) -> Path:
        """The local path of storage path ``path``; ``UnsafePath`` if it would
        lead outside the root."""
        return self._root.resolve(path)

    # The specification's methods ---------------------------------------------

    async def get_file_metadata(self, path: str) -> Optional[FileMetadata]:
        full = self.resolve(path)
        try:
            stat = await asyncio.to_thread(full.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not full.is_file():
            return None
        return FileMetadata(path=path, filename=full.name,
                            content_type=mimetypes.guess_type(full.name)[0],
                            size=stat.st_size)

    async def read_file(self, path: str) -> bytes:
        return await self.read_bytes(path, -1)

    async def read_bytes(self, path: str, num_bytes: int = 2048) -> bytes:
        return await asyncio.to_thread(reads.read_head, self.resolve(path), num_bytes)

    async def stream_file(self, path: str) -> AsyncIterator[bytes]:
        async for chunk in self.stream_range(path, 0, None):
            yield chunk

    async def receive_upload(self, path: str, stream: AsyncIterator[bytes], content_type: str,
                             *, record: Optional[FileRecord] = None) -> FileMetadata:
        final = self.resolve(path)
        size, content_hash = await writes.receive_stream(self._root.temp, final, stream,
                                                         record)
        return FileMetadata(path=path, filename=final.name, content_type=content_type,
                            content_hash=content_hash, size=size)

    async def delete_file(self, path: str) -> None:
        await asyncio.to_thread(self.resolve(path).unlink, True)

    async def list_files(self, prefix: str = "", cursor: Optional[str] = None,
                         limit: int = 100) -> tuple[list[FileMetadata], Optional[str]]:
        """Files in path order (hidden ones left out); the cursor is the last path
        of the previous page."""
        found, next_cursor = await asyncio.to_thread(
            walk.list_page, self._root, prefix or "", cursor, limit)
        return [FileMetadata(path=p, filename=p.rsplit("/", 1)[-1],
                             content_type=mimetypes.guess_type(p)[0], size=size)
                for p, size in found], next_cursor

    # Optional capabilities (datasette_files.base) -------------------------------

    def stream_range(self, path: str, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        return reads.stream_range(lambda: self.resolve(path), start, end)

    async def open_file(self, path: str) -> reads.OpenFile:
        return await reads.open_file(lambda: self.resolve(path))

    def write_files_blocking(self, files: Sequence[tuple[str, bytes]], *,
                             records: Optional[Sequence[Optional[FileRecord]]] = None
                             ) -> list[Optional[Exception]]:
        placed: list[tuple[Path, bytes, Optional[FileRecord]]] = []
        outcomes: list[Optional[Exception]] = []
        for (path, content), record in zip(files, records or [None] * len(files)):
            try:
                placed.append((self.resolve(path), content, record))
                outcomes.append(None)
            except Exception as ex:
                outcomes.append(ex)
        written = iter(writes.write_files(self._root.temp, placed, self._syncs))
        return [outcome if outcome is not None else next(written) for outcome in outcomes]

    async def write_chunk(self, key: str, offset: int, stream: AsyncIterator[bytes],
                          sha256) -> int:
        return await self._spool.write(key, offset, stream, sha256)

    async def spooled_sha256(self, key: str, length: int):
        return await self._spool.sha256_of_head(key, length)

    async def finish_chunks(self, key: str, path: str, *,
                            record: Optional[FileRecord] = None) -> None:
        await self._spool.finish(key, self.resolve(path), record)

    async def discard_chunks(self, key: str) -> None:
        await self._spool.discard(key)

    async def move_file(self, path: str, new_path: str, *,
                        record: Optional[FileRecord] = None) -> None:
        await asyncio.to_thread(moves.move, self.resolve(path), self.resolve(new_path), record)

    async def move_folder(self, path: str, new_path: str) -> None:
        await asyncio.to_thread(moves.move, self.resolve(path), self.resolve(new_path),
                                None, False)

    async def make_folder(self, path: str) -> None:
        await asyncio.to_thread(moves.make_folder, self.resolve(path))

    async def remove_empty_folder(self, path: str) -> bool:
        return await asyncio.to_thread(moves.remove_empty_folder, self.resolve(path))

    def walk_folders(self, include_hidden: bool = False) -> AsyncIterator[list[ScannedFolder]]:
        return walk.walk_folders(self._root, include_hidden)

    async def content_hashes(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        return await self._read_each(paths, reads.sha256_of)

    async def stored_records(self, paths: Sequence[str]) -> dict[str, Optional[FileRecord]]:
        return await self._read_each(paths, records.read)

    async def sweep_temporary_files(
            self, live_upload_keys: Callable[[], Awaitable[Collection[str]]]) -> int:
        return await temporary.sweep(self._root.temp, live_upload_keys)

    async def free_space(self) -> int:
        # statvfs answers from memory: not worth a trip off the event loop.
        return shutil.disk_usage(self.root).free

    async def check_health(self, writable: bool) -> None:
        try:
            await asyncio.to_thread(self._check_listable)
            if writable:
                await asyncio.to_thread(self._check_writable)
        except OSError as ex:
            raise StorageUnavailable(
                f"root {self.root} cannot be {'written' if writable else 'read'}: "
                f"{ex.strerror or ex}") from ex

    # Internals -------------------------------------------------------------------

    async def _read_each(self, paths: Sequence[str], read: Callable[[Path], Any]) -> dict:
        """``path -> read(local path)``, in one trip off the event loop; None for a
        path that is gone, unreadable or unsafe."""

        def read_all():
            found = {}
            for path in paths:
                try:
                    found[path] = read(self.resolve(path))
                except (OSError, ValueError):
                    found[path] = None
            return found

        return await asyncio.to_thread(read_all)

    def _check_listable(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"root {self.root} is missing")
        os.listdir(self.root)

    def _check_writable(self) -> None:
        # A real write: permission bits say nothing for root or a read-only mount.
        with tempfile.NamedTemporaryFile(dir=self._root.temp):
            pass


def _parse_max_file_size(value) -> int:
    if value is None:
        return DEFAULT_MAX_FILE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"max_file_size must be a positive number of bytes, got {value!r}")
    return value
