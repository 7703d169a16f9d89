"""Hashing stored files: in the background for files sync found, and on demand
for sync's move detection."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Callable, Optional, Sequence

from .base import ContentHashes, Storage
from .registry import FileRow, Registry
from .sources import Sources

log = logging.getLogger("datasette_files")
UNREADABLE = "unreadable"  # content_hash of a file the hasher could not read
UNHASHED_BATCH = 100
# After an error the hasher cannot place (the registry, say), it waits this long.
RETRY_SECONDS = 30


async def hash_stored_files(storage: Storage, paths: Sequence[str]) -> dict[str, Optional[str]]:
    """path -> ``sha256:…`` of stored files, or None for one that cannot be read
    now (gone, refused, a storage error). Storages that hash in place do so;
    others are streamed."""
    if isinstance(storage, ContentHashes):
        return await storage.content_hashes(paths)
    digests = {}
    for path in paths:
        try:
            sha = hashlib.sha256()
            async for chunk in storage.stream_file(path):
                sha.update(chunk)
            digests[path] = "sha256:" + sha.hexdigest()
        except Exception:  # whatever a storage plugin raises for this one file
            digests[path] = None
    return digests


class Hasher:
    """Hashes registered files that have no hash yet, a batch at a time in the
    background: never blocking start-up or requests. ``on_hashed`` hears of each
    file hashed (thumbnails are queued from there)."""

    def __init__(self, registry: Registry, sources: Sources,
                 on_hashed: Callable[[FileRow], None]):
        self.registry = registry
        self.sources = sources
        self.on_hashed = on_hashed
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
        rows = await self.registry.synced.unhashed([s.slug for s in self.sources],
                                                   UNHASHED_BATCH)
        if not rows:
            self.wake.clear()
            await self.wake.wait()
            return
        hashed = []
        for slug in {row.source_slug for row in rows}:
            mine = [row for row in rows if row.source_slug == slug]
            digests = await hash_stored_files(self.sources.get(slug).storage,
                                              [row.path for row in mine])
            # Unreadable: marked, not retried in a loop; the next sync settles it.
            hashed.extend((row, digests.get(row.path) or UNREADABLE) for row in mine)
        await self.registry.synced.set_hashes(
            [(digest, row.id, row.size) for row, digest in hashed])
        self.hashed += len(hashed)
        for row, digest in hashed:
            if digest != UNREADABLE:
                row.content_hash = digest
                self.on_hashed(row)

    async def pending(self, slug: str) -> bool:
        """Whether files of ``slug`` wait to be hashed."""
        return bool(await self.registry.synced.unhashed([slug], 1))
