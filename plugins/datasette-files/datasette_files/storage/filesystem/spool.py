"""Resumable uploads: chunks gather in a spool file named by the upload's key,
which becomes the stored file by a rename once the last one is in."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path
from typing import AsyncIterator, Optional

from ...base import FileRecord, UnsafePath
from . import records
from .reads import READ_CHUNK
from .temporary import SPOOL_SUFFIX
from .writes import move_into_place, pipe_to_file, raise_if_disk_full

_SPOOL_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")


class Spool:
    """The spool files of one root's temporary directory."""

    def __init__(self, temp_dir: Path):
        self.temp_dir = temp_dir

    def path(self, key: str) -> Path:
        if not isinstance(key, str) or not _SPOOL_KEY.fullmatch(key):
            raise UnsafePath(f"invalid upload key {key!r}")
        return self.temp_dir / f"{key}{SPOOL_SUFFIX}"

    async def write(self, key: str, offset: int, stream: AsyncIterator[bytes], sha256) -> int:
        """Write ``stream`` at ``offset`` of ``key``'s spool, updating ``sha256``;
        anything past ``offset`` (from a chunk cut off earlier) is dropped first.
        Returns the bytes written, fsynced. On failure the spool is cut back to
        ``offset``, so it never holds bytes that were not acknowledged."""
        spool = self.path(key)
        fp = await asyncio.to_thread(_open_at, spool, offset)
        try:
            written = await pipe_to_file(fp, [], stream, sha256)
        except BaseException as ex:
            await asyncio.to_thread(_cut_back, fp, spool, offset)
            raise_if_disk_full(ex, "for this chunk")
            raise
        fp.close()
        return written

    async def sha256_of_head(self, key: str, length: int):
        """A sha256 of the first ``length`` bytes of ``key``'s spool, or None if it
        holds fewer."""

        def hash_head():
            sha256 = hashlib.sha256()
            with open(self.path(key), "rb") as fp:
                remaining = length
                while remaining and (chunk := fp.read(min(READ_CHUNK, remaining))):
                    sha256.update(chunk)
                    remaining -= len(chunk)
            return None if remaining else sha256

        try:
            return await asyncio.to_thread(hash_head)
        except FileNotFoundError:
            return None

    async def finish(self, key: str, final: Path, record: Optional[FileRecord]) -> None:
        """Move ``key``'s spool to ``final``, with ``record`` kept in it."""
        await asyncio.to_thread(_finish, self.path(key), final, record)

    async def discard(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)


def _finish(spool: Path, final: Path, record: Optional[FileRecord]) -> None:
    if record is not None:
        # The chunks are durable already; this fsync makes the record so too.
        fd = os.open(spool, os.O_RDONLY)
        try:
            records.keep(fd, record)
            os.fsync(fd)
        finally:
            os.close(fd)
    move_into_place(spool, final)


def _open_at(spool: Path, offset: int):
    fp = open(spool, "r+b" if spool.exists() else "w+b")
    fp.truncate(offset)
    fp.seek(offset)
    return fp


def _cut_back(fp, spool: Path, offset: int) -> None:
    fp.close()
    try:
        os.truncate(spool, offset)
    except FileNotFoundError:
        pass
