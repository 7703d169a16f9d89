"""Sweeping what dead uploads leave behind, while the server runs: expired
upload tokens with their bytes, and temporary files nothing uses (a killed
process's or a cut-off request's partial writes, the chunks of uploads that
are gone). Chunks of a resumable upload that is still alive stay between its
requests until the upload expires."""

from __future__ import annotations

import asyncio
import logging

from ..base import StorageUnavailable, TemporaryFileSweeps
from ..registry import Registry
from ..sources import Sources
from .sessions import UploadSessions
from .tokens import expire

log = logging.getLogger("datasette_files")


class LeftoverSweeper:
    def __init__(self, registry: Registry, sources: Sources, sessions: UploadSessions,
                 interval_seconds: float):
        self.registry = registry
        self.sources = sources
        self.sessions = sessions
        self.interval_seconds = interval_seconds

    async def run(self, datasette=None) -> None:
        """The background task (Datasette passes itself to background tasks): a
        sweep at once, then one every interval; it outlives any error."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("datasette-files: sweeping expired uploads failed")
            await asyncio.sleep(self.interval_seconds)

    async def sweep(self) -> int:
        """Expire tokens, then remove every source's unused temporary files;
        returns how many files went."""
        await expire(self.registry, self.sources, self.sessions)
        removed = 0
        for source in self.sources:
            if not isinstance(source.storage, TemporaryFileSweeps):
                continue
            try:
                removed += await source.storage.sweep_temporary_files(
                    self.registry.uploads.unfinished_file_ids)
            except StorageUnavailable as ex:  # expected at times (a bucket unreachable)
                log.warning("datasette-files: source %r's temporary files were not swept: %s",
                            source.slug, ex)
            except Exception:  # one source's trouble leaves the others swept
                log.exception("datasette-files: sweeping source %r's temporary files failed",
                              source.slug)
        if removed:
            log.info("datasette-files: removed %d temporary files no upload was using", removed)
        return removed
