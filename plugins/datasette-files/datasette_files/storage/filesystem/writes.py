"""Writing files durably: a temporary file, fsynced, renamed into place, its
directory synced. A partial write is never visible under the final name, and a
file is on disk before anyone is told it is stored."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import hashlib
import os
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Optional, Sequence

from ...base import FileRecord, StorageFull
from . import records
from .temporary import create_part

# Incoming chunks are gathered to this size before one write+hash runs off the loop.
WRITE_BATCH = 4 * 1024 * 1024
WRITEBACK_EVERY = 64 * 1024 * 1024
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
# Small files written before they are fsynced together (each holds a file
# descriptor until it is in place).
SYNCED_TOGETHER = 64


def raise_if_disk_full(ex: BaseException, what: str) -> None:
    """Raise StorageFull for a full disk; return for any other error."""
    if isinstance(ex, OSError) and ex.errno in _DISK_FULL:
        raise StorageFull(f"not enough free space in this source's storage {what}") from ex


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


async def receive_stream(temp_dir: Path, final: Path, stream: AsyncIterator[bytes],
                         record: Optional[FileRecord] = None) -> tuple[int, str]:
    """Store ``stream`` at ``final`` by way of a partial write in ``temp_dir``,
    with ``record`` kept in it; (size, ``sha256:<hex>``).

    A small file arrives whole and is written, fsynced and moved in one trip off
    the event loop; a large one is written batch by batch while the next arrives.
    """
    sha256 = hashlib.sha256()
    try:
        head, rest = await _first_batch(stream)
        if rest is None:
            size = await asyncio.to_thread(_write_whole, temp_dir, final, head, sha256, record)
        else:
            part, fp = await asyncio.to_thread(create_part, temp_dir)
            with _held(part, fp):
                records.keep(fp.fileno(), record)
                size = await pipe_to_file(fp, head, rest, sha256)
                await asyncio.to_thread(move_into_place, part, final)
    except BaseException as ex:
        raise_if_disk_full(ex, "to finish the upload")
        raise
    return size, "sha256:" + sha256.hexdigest()


def write_files(temp_dir: Path, files: Sequence[tuple[Path, bytes, Optional[FileRecord]]],
                syncs: Optional[Executor] = None) -> list[Optional[Exception]]:
    """Store each ``(final, content, record)``: written with its record to a
    partial write in ``temp_dir``, fsynced, renamed; then each directory that
    received a file is synced once. Blocking. The files are written
    SYNCED_TOGETHER at a time, then fsynced at once on ``syncs``' threads (if
    given): a filesystem commits its journal once for the fsyncs that wait
    together, where fsyncs one after the other pay a commit each. One entry
    per file: None when stored, else its error (a file that failed left
    nothing)."""
    outcomes: list[Optional[Exception]] = [None] * len(files)
    directories: dict[Path, list[int]] = {}
    for start in range(0, len(files), SYNCED_TOGETHER):
        indexes = range(start, min(len(files), start + SYNCED_TOGETHER))
        for index, directory in _write_group(temp_dir, files, indexes, outcomes, syncs):
            directories.setdefault(directory, []).append(index)
    for directory, indexes in directories.items():
        try:
            fsync_directory(directory)
        except OSError as ex:
            for index in indexes:
                files[index][0].unlink(missing_ok=True)
                outcomes[index] = _disk_full_as_storage_error(ex)
    return outcomes


def _write_group(temp_dir: Path, files, indexes: range, outcomes: list,
                 syncs: Optional[Executor]) -> list[tuple[int, Path]]:
    """Write, fsync and rename files ``indexes``, each partial write held open
    (so locked against a sweep) until it is in place or removed; (index,
    directory it went to) of those renamed. ``outcomes`` gets the errors."""
    held: list[tuple[int, Path, Any]] = []
    placed: list[tuple[int, Path]] = []
    try:
        for index in indexes:
            final, content, record = files[index]
            try:
                part, fp = create_part(temp_dir)
                held.append((index, part, fp))
                fp.write(content)
                records.keep(fp.fileno(), record)
                fp.flush()
                if _sync_file_range is not None:
                    # Start writing it now: the fsyncs below then wait for
                    # writes made together, not one after the other.
                    _sync_file_range(fp.fileno(), 0, 0, SYNC_FILE_RANGE_WRITE)
            except Exception as ex:
                outcomes[index] = _disk_full_as_storage_error(ex)
        written = [(index, fp) for index, _, fp in held if outcomes[index] is None]
        if syncs is not None and len(written) > 1:
            synced = list(syncs.map(_fsync_outcome, [fp for _, fp in written]))
        else:
            synced = [_fsync_outcome(fp) for _, fp in written]
        for (index, _), error in zip(written, synced):
            outcomes[index] = error
        for index, part, _ in held:
            if outcomes[index] is None:
                try:
                    placed.append((index, rename_into_place(part, files[index][0])))
                except Exception as ex:
                    outcomes[index] = _disk_full_as_storage_error(ex)
    finally:
        renamed = {index for index, _ in placed}
        for index, part, fp in held:
            fp.close()
            if index not in renamed:
                part.unlink(missing_ok=True)
    return placed


def _fsync_outcome(fp) -> Optional[Exception]:
    try:
        os.fsync(fp.fileno())
    except Exception as ex:
        return _disk_full_as_storage_error(ex)
    return None


@contextlib.contextmanager
def _held(part: Path, fp) -> Iterator[None]:
    """Keep partial write ``part`` open, so locked (a sweep leaves it), while the
    block writes it and renames it into place; remove it if the block fails."""
    with fp:
        try:
            yield
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def _disk_full_as_storage_error(ex: Exception) -> Exception:
    try:
        raise_if_disk_full(ex, "to store the file")
    except StorageFull as full:
        return full
    return ex


async def _first_batch(stream: AsyncIterator[bytes]) -> tuple[list[bytes], Optional[AsyncIterator]]:
    """Up to WRITE_BATCH bytes of ``stream``; the rest of it, or None if it ended."""
    head, size = [], 0
    iterator = stream.__aiter__()
    async for chunk in iterator:
        head.append(chunk)
        size += len(chunk)
        if size >= WRITE_BATCH:
            return head, iterator
    return head, None


async def pipe_to_file(fp, head: list[bytes], rest: Optional[AsyncIterator],
                       sha256) -> int:
    """Write and hash ``head`` then ``rest`` into ``fp``, then fsync. One batch is
    written off the loop while the next arrives; returns the bytes written."""
    in_flight: Optional[asyncio.Future] = None
    batch, batch_size, size, unwritten = head, sum(map(len, head)), 0, 0

    async def flush():
        nonlocal in_flight, batch, batch_size, size, unwritten
        if in_flight:
            await in_flight
        # Every WRITEBACK_EVERY bytes the disk is asked to start writing, so it writes
        # while the rest arrives instead of all at the final fsync.
        unwritten += batch_size
        writeback = unwritten >= WRITEBACK_EVERY
        unwritten = 0 if writeback else unwritten
        in_flight = asyncio.ensure_future(
            asyncio.to_thread(_write_and_hash, fp, sha256, batch, writeback))
        size += batch_size
        batch, batch_size = [], 0

    try:
        if rest is not None:
            async for chunk in rest:
                if batch_size >= WRITE_BATCH:
                    await flush()
                batch.append(chunk)
                batch_size += len(chunk)
        if batch:
            await flush()
        if in_flight:
            await in_flight
            in_flight = None
        await asyncio.to_thread(_fsync, fp)
    finally:
        if in_flight:  # a write still running in its thread must end before fp closes
            await asyncio.wait([in_flight])
    return size


def _write_whole(temp_dir: Path, final: Path, chunks: list[bytes], sha256,
                 record: Optional[FileRecord]) -> int:
    part, fp = create_part(temp_dir)
    with _held(part, fp):
        _write_and_hash(fp, sha256, chunks)
        records.keep(fp.fileno(), record)
        _fsync(fp)
        move_into_place(part, final)
    return sum(map(len, chunks))


def _write_and_hash(fp, sha256, chunks: list[bytes], start_writeback: bool = False) -> None:
    data = b"".join(chunks)
    sha256.update(data)
    fp.write(data)
    if start_writeback and _sync_file_range is not None:
        fp.flush()
        # Start writing the file's dirty pages to disk without waiting, and keep
        # them cached (fadvise DONTNEED would also start it, but a download right
        # after the upload would then read from disk).
        _sync_file_range(fp.fileno(), 0, 0, SYNC_FILE_RANGE_WRITE)


def _load_sync_file_range():
    """Linux's sync_file_range(2), which Python's os module lacks; None elsewhere."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return function


SYNC_FILE_RANGE_WRITE = 2
_sync_file_range = _load_sync_file_range()


def _fsync(fp) -> None:
    fp.flush()
    os.fsync(fp.fileno())
