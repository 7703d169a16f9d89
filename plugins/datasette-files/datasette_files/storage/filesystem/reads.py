"""Reading stored files: ranges in chunks, files held open, and whole-file hashes."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import AsyncIterator, BinaryIO, Callable, Optional

from ...base import FileMissing

READ_CHUNK = 1024 * 1024
# An opened file this small is read whole at once (see OpenFile).
SMALL_FILE_BYTES = 64 * 1024


async def stream_range(resolve: Callable[[], Path], start: int,
                       end: Optional[int]) -> AsyncIterator[bytes]:
    """Bytes ``start`` to ``end`` inclusive (to the end of the file if None) of
    the file ``resolve()`` names, in READ_CHUNK pieces.

    One trip off the event loop per chunk: the first also resolves and opens
    the file (so a missing or unsafe path raises before any byte), the last
    also closes it.
    """
    async for chunk in _chunks(lambda: open_for_reading(resolve()), start, end):
        yield chunk


class OpenFile:
    """A file held open, with its size and modification time from one fstat of
    the opened file: the bytes streamed are those the stat describes, even if
    the path is replaced meanwhile. A small file is read whole and closed in the
    same trip off the event loop, so serving it takes no other."""

    def __init__(self, fp) -> None:
        self._content: Optional[bytes] = None
        try:
            stat = os.fstat(fp.fileno())
            self.size, self.mtime_ns = stat.st_size, stat.st_mtime_ns
            if stat.st_size <= SMALL_FILE_BYTES:
                self._content = fp.read(SMALL_FILE_BYTES + 1)
                # Changed between the stat and the read: what was read is served.
                self.size = len(self._content)
        except BaseException:
            fp.close()
            raise
        if self._content is not None:
            fp.close()
            fp = None
        self._fp = fp

    def stream_range(self, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        if self._content is not None:
            return _in_memory(self._content[start:None if end is None else end + 1])
        fp, self._fp = self._fp, None  # the stream owns (and closes) it now
        return _chunks(lambda: fp, start, end)

    async def close(self) -> None:
        if self._fp is not None:
            fp, self._fp = self._fp, None
            await asyncio.to_thread(fp.close)


async def open_file(resolve: Callable[[], Path]) -> OpenFile:
    """The file ``resolve()`` names, open: one trip off the event loop."""
    return await asyncio.to_thread(lambda: OpenFile(open_for_reading(resolve())))


async def _in_memory(content: bytes) -> AsyncIterator[bytes]:
    if content:
        yield content


async def _chunks(opener: Callable[[], BinaryIO], start: int,
                  end: Optional[int]) -> AsyncIterator[bytes]:
    fp, remaining = None, None if end is None else end - start + 1
    try:
        while True:
            size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
            fp, chunk = await asyncio.to_thread(
                _read_chunk, fp, opener, start, size, size == remaining)
            if chunk:
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
            if fp is None:  # closed: that was the last chunk
                break
    finally:
        if fp is not None:  # the reader stopped early
            await asyncio.to_thread(fp.close)


def _read_chunk(fp, opener: Callable[[], BinaryIO], start: int, size: int, last: bool):
    """Up to ``size`` bytes from ``fp``, opened and moved to ``start`` if None;
    closed after the ``last`` read or at the end of the file. (the open file or
    None, the bytes)"""
    if fp is None:
        fp = opener()
        try:
            fp.seek(start)
        except BaseException:
            fp.close()
            raise
    try:
        chunk = fp.read(size)
    except BaseException:
        fp.close()
        raise
    if last or len(chunk) < size:
        fp.close()
        fp = None
    return fp, chunk


def open_for_reading(full: Path):
    try:
        return open(full, "rb")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise FileMissing(f"no file at {full.name!r} in storage") from None


def read_head(full: Path, num_bytes: int) -> bytes:
    with open_for_reading(full) as fp:
        return fp.read(num_bytes)


def sha256_of(full: Path) -> str:
    """``sha256:<hex>`` of a whole file, read in chunks."""
    digest = hashlib.sha256()
    with open_for_reading(full) as fp:
        while chunk := fp.read(READ_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
