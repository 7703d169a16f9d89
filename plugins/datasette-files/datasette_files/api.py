"""The Python API for other plugins and for the application around this one.

``get_file`` and ``File`` are the specification's; the rest lets an
application run and watch sources without reaching into the plugin.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass
from typing import AsyncIterator, Optional

from .base import Closing, HealthChecks
from .clock import parse_timestamp
from .registry import FileRow
from .sizes import human_size
from .sources import Source, load_sources
from .state import state
from .sync import SyncInProgress, SyncStatus
from .sync import sync_source as run_sync


class File:
    """A registered file. Permission checks are the caller's responsibility."""

    def __init__(self, row: FileRow, source: Source):
        self._source = source
        self.id: str = row.id
        self.filename: str = row.filename
        self.content_type: str = row.content_type
        self.size: int = row.size
        self.source_slug: str = row.source_slug
        self.uploaded_by: Optional[str] = row.uploaded_by
        self.created_at: datetime.datetime = parse_timestamp(row.created_at)
        self.metadata: dict = row.metadata
        self.content_hash: Optional[str] = row.content_hash
        self.path: str = row.path

    def __repr__(self) -> str:
        return f"<File {self.id} {self.filename!r} in {self.source_slug}>"

    async def read(self, max_bytes: Optional[int] = None) -> bytes:
        """The file's content, or at most its first ``max_bytes`` bytes."""
        if max_bytes is not None:
            return await self._source.storage.read_bytes(self.path, max_bytes)
        return await self._source.storage.read_file(self.path)

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[AsyncIterator[bytes]]:
        """``async with file.open() as stream: async for chunk in stream: ...``"""
        stream = self._source.storage.stream_file(self.path)
        try:
            yield stream
        finally:
            aclose = getattr(stream, "aclose", None)  # any async iterator will do
            if aclose is not None:
                await aclose()


async def get_file(datasette, file_id: str) -> Optional[File]:
    """The file with this id, or None if no such file is registered."""
    plugin = state(datasette)
    row = await plugin.registry.files.get(file_id)
    if row is None or row.source_slug not in plugin.sources:
        return None
    return File(row, plugin.sources.get(row.source_slug))


@dataclass(frozen=True)
class SourceSummary:
    """A configured source, as an application shows it."""

    slug: str
    storage_type: str
    read_only: bool
    can_list: bool


def list_sources(datasette) -> list[SourceSummary]:
    """The configured sources (none before start-up)."""
    try:
        sources = state(datasette).sources
    except RuntimeError:
        return []
    return [_summary(source) for source in sources]


async def validate_sources(datasette) -> list[SourceSummary]:
    """Configure every source's storage without starting the plugin: the
    sources, or ConfigError naming the first problem."""
    sources = await load_sources(datasette, datasette.plugin_config("datasette-files") or {})
    for source in sources:
        if isinstance(source.storage, Closing):
            await source.storage.close()  # opened for the check: released with its loop
    return [_summary(source) for source in sources]


async def sync_source(datasette, slug: str, *, confirm_removals: bool = False) -> SyncStatus:
    """Sync source ``slug`` with its storage now, and wait for it; its status.

    Raises ``datasette_files.sync.SyncInProgress`` if a sync of it is running,
    and LookupError for an unknown slug.
    """
    plugin = state(datasette)
    status = await run_sync(plugin.registry, plugin.sources.get(slug), plugin.syncs.of(slug),
                            include_hidden=plugin.settings.include_hidden,
                            confirm_removals=confirm_removals, organiser=plugin.organiser)
    plugin.hasher.wake.set()
    return status


async def sync_all_sources(datasette) -> None:
    """Sync every source that can list its files, one after another (a sync
    already running is left to finish)."""
    for source in list_sources(datasette):
        if source.can_list:
            try:
                await sync_source(datasette, source.slug)
            except SyncInProgress:
                continue


@dataclass(frozen=True)
class SourceCheck:
    """What ``check_source`` found out about a source that works."""

    # "ok"; "degraded" when a writable source has less free space than the
    # plugin's min_free_space; "not checked" when its storage cannot tell.
    status: str
    # Bytes the storage can still store, when it can tell (FreeSpace).
    free_bytes: Optional[int] = None
    # Why it is degraded.
    warning: Optional[str] = None


async def check_source(datasette, slug: str) -> SourceCheck:
    """Whether source ``slug`` works now (can be written, or read when it is
    read-only), its last sync found it healthy, and it has room left. Raises
    ``StorageUnavailable`` (or RuntimeError) saying why it does not work."""
    plugin = state(datasette)
    source = plugin.sources.get(slug)
    sync = plugin.syncs.get(slug)
    if sync is not None and sync.state == "unhealthy":
        raise RuntimeError(sync.error)
    checked = isinstance(source.storage, HealthChecks)
    if checked:
        await source.storage.check_health(writable=not source.read_only)
    free = await source.free_space()
    floor = plugin.settings.min_free_space
    if free is not None and free < floor and not source.read_only:
        return SourceCheck("degraded", free, f"{human_size(free)} free, below "
                                             f"min_free_space ({human_size(floor)}): "
                                             "uploads will soon fail")
    return SourceCheck("ok" if checked else "not checked", free)


def _summary(source: Source) -> SourceSummary:
    return SourceSummary(slug=source.slug, storage_type=source.storage_type,
                         read_only=source.read_only, can_list=source.capabilities.can_list)
