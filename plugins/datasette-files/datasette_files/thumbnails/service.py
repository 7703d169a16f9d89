"""Thumbnails for registered files: from the cache, or generated in isolation.

Each (file, size) is generated at most once at a time; a generator that failed
for a file is recorded and not retried on every request. Uploads queue their
files for eager generation by a background task, never in the upload request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Optional

from datasette.plugins import pm
from datasette.utils import await_me_maybe

from ..base import ThumbnailGenerator
from ..files import format_timestamp, utc_now
from ..registry import FileRegistry
from ..sources import Sources
from .worker import WALL_SECONDS, ThumbnailFailed, generate_isolated

log = logging.getLogger("datasette_files")

SIZES = (200, 400)
DEFAULT_SIZE = 200
# Files larger than this are not handed to any generator.
MAX_INPUT_BYTES = 50 * 1024 * 1024
CONCURRENT_JOBS = 2


@dataclass
class Thumbnail:
    thumb: bytes
    content_type: str
    width: int
    height: int


class ThumbnailService:
    def __init__(self, datasette, registry: FileRegistry, sources: Sources,
                 timeout: float = WALL_SECONDS):
        self.datasette = datasette
        self.timeout = timeout
        self.registry = registry
        self.sources = sources
        self.queue: asyncio.Queue = asyncio.Queue()
        self._jobs = asyncio.Semaphore(CONCURRENT_JOBS)
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._generators: Optional[list[ThumbnailGenerator]] = None

    async def generators(self) -> list[ThumbnailGenerator]:
        if self._generators is None:
            found = []
            for result in pm.hook.register_thumbnail_generators(datasette=self.datasette):
                found.extend(await await_me_maybe(result) or [])
            self._generators = found
        return self._generators

    def enqueue(self, row: dict) -> None:
        """Generate this file's thumbnail soon, in the background."""
        self.queue.put_nowait(row)

    async def run_queue(self, datasette=None) -> None:
        """The background task: works through queued files one at a time."""
        while True:
            row = await self.queue.get()
            try:
                await self.get(row, DEFAULT_SIZE)
            except Exception:
                log.exception("datasette-files: thumbnail for %s failed", row.get("id"))

    async def get(self, row: dict, size: int = DEFAULT_SIZE) -> Optional[Thumbnail]:
        """The thumbnail, generating it if needed; None when no generator can."""
        key = (row["id"], size)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._cached_or_generated(row, size)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _cached_or_generated(self, row: dict, size: int) -> Optional[Thumbnail]:
        applicable = [generator for generator in await self.generators()
                      if await generator.can_generate(row["content_type"], row["filename"])]
        if not applicable:  # most files: nothing to look up, nothing to make
            return None
        cached = await self.registry.thumbnails(row["id"], size)
        for entry in cached:
            if entry["thumb"] is not None:
                return Thumbnail(entry["thumb"], entry["content_type"], entry["width"],
                                 entry["height"])
        failed = {entry["generator"] for entry in cached}
        content = None
        for generator in applicable:
            if generator.name in failed:
                continue
            if content is None:
                content = await self._read_input(row)
                if content is None:
                    await self._record(row, size, generator.name, error="file too large")
                    return None
            try:
                async with self._jobs:
                    result = await generate_isolated(
                        generator, content, row["content_type"], row["filename"], size, size,
                        timeout=self.timeout,
                    )
            except ThumbnailFailed as ex:
                await self._record(row, size, generator.name, error=str(ex))
                continue
            if result is None:
                await self._record(row, size, generator.name, error="no thumbnail")
                continue
            await self._record(row, size, generator.name, result=result)
            return Thumbnail(result.thumb_bytes, result.content_type, result.width,
                             result.height)
        return None

    async def _read_input(self, row: dict) -> Optional[bytes]:
        if row["size"] is not None and row["size"] > MAX_INPUT_BYTES:
            return None
        source = self.sources.get(row["source_slug"])
        content = await source.storage.read_bytes(row["path"], MAX_INPUT_BYTES + 1)
        return None if len(content) > MAX_INPUT_BYTES else content

    async def _record(self, row, size, generator_name, result=None, error=None) -> None:
        await self.registry.store_thumbnail({
            "file_id": row["id"],
            "size": size,
            "generator": generator_name,
            "content_type": result.content_type if result else None,
            "thumb": result.thumb_bytes if result else None,
            "width": result.width if result else None,
            "height": result.height if result else None,
            "error": error,
            "created_at": format_timestamp(utc_now()),
        })
