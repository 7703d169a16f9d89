"""Hashing stored files: in the background for files sync found, and on demand
for sync's move detection."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Callable, Optional, Sequence

from .base import ContentHashes, Storage
from .registry import FileRow, Registry
from .sources import Sources

log = logging.getLogger("datasette_files")
UNHASHED_BATCH = 100
# After an error the hasher cannot place (the registry, say), it waits this long.
RETRY_SECONDS = 30
# A file that could not be read is tried again after the hash_retry_seconds
# setting, doubled with each failure up to a day: a file gone for good costs a
# read a day.
MAX_HASH_RETRY_SECONDS = 24 * 60 * 60


async def hash_stored_files(storage: Storage, paths: Sequence[str]) -> dict[str, Optional[str]]:
    """path -> ``sha256:…`` of stored files, or None for one that cannot be read
    now (gone, refused, a storage error). Storages that hash in place do so;
    others are streamed. Whatever a storage plugin raises counts against the
    file it was reading, never the others."""
    if isinstance(storage, ContentHashes):
        try:
            digests = await storage.content_hashes(paths)
            return {path: digests.get(path) for path in paths}
        except Exception:  # one file spoiled the batch: each on its own
            return {path: await _hashed_in_place(storage, path) for path in paths}
    return {path: await _streamed_hash(storage, path) for path in paths}


async def _hashed_in_place(storage: ContentHashes, path: str) -> Optional[str]:
    try:
        return (await storage.content_hashes([path])).get(path)
    except Exception as ex:
        log.warning("datasette-files: cannot hash %s: %s: %s", path, type(ex).__name__, ex)
        return None


async def _streamed_hash(storage: Storage, path: str) -> Optional[str]:
    try:
        sha = hashlib.sha256()
        async for chunk in storage.stream_file(path):
            sha.update(chunk)
        return "sha256:" + sha.hexdigest()
    except Exception as ex:
        log.warning("datasette-files: cannot hash %s: %s: %s", path, type(ex).__name__, ex)
        return None


def retry_delay(failures: int, first: float) -> float:
    """Seconds until the next try at hashing a file after ``failures`` failures."""
    return min(first * 2 ** min(max(failures - 1, 0), 32), MAX_HASH_RETRY_SECONDS)


class Hasher:
    """Hashes registered files that have no hash yet, a batch at a time in the
    background: never blocking start-up or requests. A file that cannot be read
    keeps a null hash and is tried again later, backing off. ``on_hashed``
    hears of each file hashed (thumbnails are queued from there)."""

    def __init__(self, registry: Registry, sources: Sources,
                 on_hashed: Callable[[FileRow], None],
                 retry_seconds: float):
        self.registry = registry
        self.sources = sources
        self.on_hashed = on_hashed
        self.retry_seconds = retry_seconds
        self.wake = asyncio.Event()
        self.hashed = 0

    async def run(self, datasette=None) -> None:
        """The background task (Datasette passes itself to background tasks): it
        outlives any error, trying again a little later."""
        while True:
            try:
                await self._hash_some()
            except Exception:
                log.exception("datasette-files: hashing failed; trying again in %ss",
                              RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)

    async def _hash_some(self) -> None:
        # Only configured sources: files of a source removed from the config wait.
        slugs = [s.slug for s in self.sources]
        self.wake.clear()  # before looking: a wake from now on is not lost
        rows = await self.registry.synced.unhashed(slugs, time.time(), UNHASHED_BATCH)
        if not rows:
            await self._sleep_until(await self.registry.synced.next_hash_retry(slugs))
            return
        hashed, failed = [], []
        for slug in {row.source_slug for row in rows}:
            mine = [row for row in rows if row.source_slug == slug]
            digests = await hash_stored_files(self.sources.get(slug).storage,
                                              [row.path for row in mine])
            for row in mine:
                if digests[row.path]:
                    row.content_hash = digests[row.path]
                    hashed.append(row)
                else:
                    failed.append(row)
        await self.registry.synced.set_hashes(
            [(row.content_hash, row.id, row.size, row.mtime_ns) for row in hashed])
        now = time.time()
        await self.registry.synced.hash_failed(
            [(now + retry_delay(row.hash_failures + 1, self.retry_seconds), row.id)
             for row in failed])
        self.hashed += len(hashed)
        for row in hashed:
            self.on_hashed(row)

    async def _sleep_until(self, retry_at: Optional[float]) -> None:
        """Until woken (new files to hash), or until ``retry_at`` if given."""
        timeout = None if retry_at is None else max(retry_at - time.time(), 0.1)
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def pending(self, slug: str) -> bool:
        """Whether files of ``slug`` wait to be hashed now (not those whose
        hashing failed and waits to be tried again)."""
        return bool(await self.registry.synced.unhashed([slug], time.time(), 1))
