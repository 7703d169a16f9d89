"""Thumbnails for registered files: from the registry, or generated in isolation.

Each (file, size) is generated at most once at a time; a generator that failed
for a file is recorded and not retried on every request. Uploads queue their
files for eager generation by a background task, never in the upload request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from typing import Optional

from ..base import ThumbnailGenerator
from ..clock import now_timestamp
from ..registry import FileRow, Registry, StoredThumbnail
from ..sources import Sources
from .pdf import is_pdf
from .worker import ThumbnailFailed, WorkerSlots, WorkerStopped, generate_isolated

log = logging.getLogger("datasette_files")

SIZES = (200, 400)
DEFAULT_SIZE = 200
# Files larger than this are not handed to any generator.
MAX_INPUT_BYTES = 50 * 1024 * 1024


@dataclass
class Thumbnail:
    thumb: bytes
    content_type: str
    width: int
    height: int


class ThumbnailService:
    """Finds, generates and records thumbnails with the registered generators."""

    def __init__(self, registry: Registry, sources: Sources,
                 generators: list[ThumbnailGenerator], timeout: float,
                 slots: Optional[WorkerSlots] = None):
        self.registry = registry
        self.sources = sources
        self.generators = generators
        self.timeout = timeout
        self.queue: asyncio.Queue = asyncio.Queue()
        # The workers, shared with the PDF viewer's renders.
        self.slots = slots or WorkerSlots()
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        # Names the generators' output: part of every thumbnail's version.
        self._generators_version = "|".join(
            f"{generator.name}:{generator.version}" for generator in generators)

    def version(self, file: FileRow) -> Optional[str]:
        """What a file's thumbnail is made from: its bytes (by hash) and the
        generators. None until the file is hashed. A thumbnail URL carrying the
        current version can be cached for good."""
        if not file.content_hash:
            return None
        material = f"{file.content_hash}|{self._generators_version}".encode()
        return hashlib.sha256(material).hexdigest()[:16]

    def enqueue(self, file: FileRow) -> None:
        """Generate this file's thumbnail soon, in the background."""
        self.queue.put_nowait(file)

    def enqueue_eager(self, file: FileRow) -> None:
        """Generate the thumbnail of an image or a PDF soon (what a listing
        shows most); other types are drawn on request."""
        if (file.content_type or "").startswith("image/") or is_pdf(file.content_type,
                                                                     file.filename):
            self.enqueue(file)

    async def run_queue(self, datasette=None) -> None:
        """The background task: works through queued files one at a time."""
        while True:
            await self.make_queued(await self.queue.get())

    async def make_queued(self, file: FileRow) -> None:
        """Make the thumbnail of a file taken from the queue, as the file is
        now: it may have been renamed, moved or deleted since it was queued."""
        try:
            file = await self.registry.files.get(file.id)
            if file is None:
                return
            await self.get(file, DEFAULT_SIZE)
        except FileNotFoundError:  # moved or deleted while it was being read
            log.info("datasette-files: %s changed before its thumbnail was made", file.id)
        except Exception:
            log.exception("datasette-files: thumbnail for %s failed", file.id)

    async def get(self, file: FileRow, size: int = DEFAULT_SIZE) -> Optional[Thumbnail]:
        """The thumbnail, generating it if needed; None when no generator can."""
        key = (file.id, size)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._stored_or_generated(file, size)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def applicable(self, file: FileRow) -> list[ThumbnailGenerator]:
        """The generators that can draw this file, in the order they are tried."""
        return [generator for generator in self.generators
                if await generator.can_generate(file.content_type, file.filename)]

    async def _stored_or_generated(self, file: FileRow, size: int) -> Optional[Thumbnail]:
        applicable = await self.applicable(file)
        if not applicable:  # most files: nothing to look up, nothing to make
            return None
        # Only what was made from these bytes by these generators' versions counts.
        stored = {entry.generator: entry
                  for entry in await self.registry.thumbnails.for_file(file.id, size)
                  if entry.content_hash == file.content_hash}
        content = None
        async with contextlib.AsyncExitStack() as held:
            for generator in applicable:
                entry = stored.get(generator.name)
                if entry is not None and entry.generator_version == str(generator.version):
                    if entry.thumb is not None:
                        return Thumbnail(entry.thumb, entry.content_type, entry.width,
                                         entry.height)
                    continue  # it failed for these bytes: not tried again
                if content is None:
                    # The bytes (up to 50 MiB) are read once a worker is free:
                    # requests waiting for one hold nothing.
                    await held.enter_async_context(self.slots.worker())
                    content = await self._read_input(file)
                    if content is None:
                        await self._record(file, size, generator, error="file too large")
                        return None
                try:
                    result = await generate_isolated(
                        generator, content, file.content_type, file.filename, size, size,
                        timeout=self.timeout)
                except ThumbnailFailed as ex:
                    await self._record(file, size, generator, error=str(ex))
                    continue
                except WorkerStopped as ex:  # nothing to record: tried again next time
                    log.warning("datasette-files: thumbnail for %s not made: %s", file.id, ex)
                    return None
                if result is None:
                    await self._record(file, size, generator, error="no thumbnail")
                    continue
                thumbnail = Thumbnail(result.thumb_bytes, result.content_type, result.width,
                                      result.height)
                await self._record(file, size, generator, thumbnail=thumbnail)
                return thumbnail
        return None

    async def _read_input(self, file: FileRow) -> Optional[bytes]:
        if file.size is not None and file.size > MAX_INPUT_BYTES:
            return None
        source = self.sources.get(file.source_slug)
        content = await source.storage.read_bytes(file.path, MAX_INPUT_BYTES + 1)
        return None if len(content) > MAX_INPUT_BYTES else content

    async def _record(self, file: FileRow, size: int, generator: ThumbnailGenerator,
                      thumbnail: Optional[Thumbnail] = None, error: Optional[str] = None) -> None:
        await self.registry.thumbnails.store(StoredThumbnail(
            file_id=file.id, size=size, generator=generator.name, created_at=now_timestamp(),
            content_hash=file.content_hash, generator_version=str(generator.version),
            content_type=thumbnail.content_type if thumbnail else None,
            thumb=thumbnail.thumb if thumbnail else None,
            width=thumbnail.width if thumbnail else None,
            height=thumbnail.height if thumbnail else None,
            error=error))
