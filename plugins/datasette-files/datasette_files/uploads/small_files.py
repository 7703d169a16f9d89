"""A request's small files, stored a group at a time and then registered
together, while the request reads on.

A group is hashed, measured (images) and stored in one trip to a thread
(``BatchWrites.write_files_blocking``: written, fsynced together, renamed,
each directory synced once); then every file of it asks the registry's
batched writer for its row at once, so they share a commit. The next group
is read meanwhile: reading, storing and committing overlap. A file is on disk
before its row; a crash between the two leaves bytes that a sync adopts (the
name in storage holds the file's id, and the storage keeps its record), and
a row refused (a name taken, a file that may not be replaced) removes them.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Callable, Optional

from ..base import BatchWrites, FileRecord, FileRecords
from ..organise.changes import crash_point
from ..registry import FileRow, Registry
from ..registry.placing import Placement
from ..sources import Source
from ..thumbnails.image_header import displayed_size
from .image_size import IMAGE_HEAD_BYTES
from .storing import discard_partial

# Files stored in one trip to a thread, and their bytes at most.
GROUP_FILES = 64
GROUP_BYTES = 2 * 1024 * 1024
# A request's files read but not yet registered, and their bytes at most.
MAX_FILES_IN_FLIGHT = 256
MAX_BYTES_IN_FLIGHT = 8 * 1024 * 1024


@dataclass
class SmallFile:
    """A file read whole, to store at ``file.path`` then register."""

    file: FileRow  # hash and image size filled in when it is stored
    content: bytes
    record: FileRecord
    placement: Placement
    # Told the file as registered, or the error that stopped it.
    settle: Callable[[Optional[FileRow], Optional[Exception]], None]


class SmallFiles:
    """Stores and registers the small files of one request into ``source``
    (whose storage has BatchWrites), holding at most MAX_BYTES_IN_FLIGHT."""

    def __init__(self, registry: Registry, source: Source):
        assert isinstance(source.storage, BatchWrites)
        self.registry = registry
        self.source = source
        self._group: list[SmallFile] = []
        self._group_bytes = 0
        self._in_flight: dict[asyncio.Task, tuple[int, int]] = {}  # -> (files, bytes)

    async def add(self, small: SmallFile) -> None:
        """Store and register ``small`` soon: with the next group."""
        if self._group and (len(self._group) >= GROUP_FILES or
                            self._group_bytes + len(small.content) > GROUP_BYTES):
            await self.flush()
        self._group.append(small)
        self._group_bytes += len(small.content)

    async def flush(self) -> None:
        """Start storing the files added so far, once there is room for them."""
        group, size = self._group, self._group_bytes
        if not group:
            return
        self._group, self._group_bytes = [], 0
        while self._in_flight and (
                sum(f for f, _ in self._in_flight.values()) + len(group) > MAX_FILES_IN_FLIGHT
                or sum(b for _, b in self._in_flight.values()) + size > MAX_BYTES_IN_FLIGHT):
            await asyncio.wait(list(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.ensure_future(self._store_and_register(group))
        self._in_flight[task] = (len(group), size)
        task.add_done_callback(lambda done: self._in_flight.pop(done, None))

    async def settle(self) -> None:
        """Store and register every file added; return once each is settled."""
        await self.flush()
        while self._in_flight:
            await asyncio.wait(list(self._in_flight))

    async def _store_and_register(self, group: list[SmallFile]) -> None:
        try:
            errors = await asyncio.to_thread(_store, self.source.storage, group)
        except Exception as ex:
            errors = [ex] * len(group)
        crash_point("batch-stored")  # tests: killed between the bytes and the rows
        stored = []
        for small, error in zip(group, errors):
            small.content = b""  # stored or not, its bytes are not needed any more
            if error is None:
                stored.append(small)
            else:
                small.settle(None, error)
        await asyncio.gather(*[self._register(small) for small in stored])

    async def _register(self, small: SmallFile) -> None:
        try:
            file = await self.registry.files.register(small.file, placement=small.placement)
        except asyncio.CancelledError:
            raise  # its batch may commit still: the file is left to it
        except Exception as ex:
            await discard_partial(self.source, small.file.path)
            small.settle(None, ex)
        else:
            small.settle(file, None)


def _store(storage: BatchWrites, group: list[SmallFile]) -> list[Optional[Exception]]:
    """In a thread: hash each file, measure each image, store them all."""
    for small in group:
        small.file.content_hash = "sha256:" + hashlib.sha256(small.content).hexdigest()
        if small.file.content_type.startswith("image/"):
            small.file.width, small.file.height = displayed_size(
                small.content[:IMAGE_HEAD_BYTES])
    files = [(small.file.path, small.content) for small in group]
    if isinstance(storage, FileRecords):
        return storage.write_files_blocking(files, records=[small.record for small in group])
    return storage.write_files_blocking(files)
