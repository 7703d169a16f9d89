"""``Organiser``: the operations of this package for one plugin instance,
one at a time per source (a move, a restore and a folder's rename never
interleave), none while a sync walks the source, and the start-up recovery
of changes a crash cut short."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Optional, Union

from ..errors import Conflict

from ..registry import FileRow, Registry
from ..registry.folders import FolderRow
from ..registry.trash import TrashItem
from ..sources import Source, Sources
from . import changes, files, folders, trash

log = logging.getLogger("datasette_files")


class Organiser:
    """Folders, moves and the trash of every source."""

    def __init__(self, registry: Registry, sources: Sources):
        self.registry = registry
        self.sources = sources
        self._locks: dict[str, asyncio.Lock] = {}
        self._syncing: set[str] = set()

    def lock(self, slug: str) -> asyncio.Lock:
        """The lock every change to source ``slug``'s folders and trash holds."""
        return self._locks.setdefault(slug, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def syncing(self, slug: str) -> AsyncIterator[None]:
        """Held by a sync of ``slug`` while it walks: a walk that saw a folder
        before it moved took its files for gone and new ones (new ids). Changes
        under way finish first; those asked for meanwhile are refused, not
        kept waiting for the whole walk."""
        self._syncing.add(slug)
        try:
            async with self.lock(slug):
                yield
        finally:
            self._syncing.discard(slug)

    def _changing(self, slug: str) -> asyncio.Lock:
        if slug in self._syncing:
            raise Conflict(f"A sync of source {slug!r} is running: try again when it has "
                           "finished")
        return self.lock(slug)

    async def recover(self) -> int:
        return await changes.recover(self.registry, self.sources)

    async def create_folder(self, source: Source, parent: str, name: str, on_conflict: str,
                            actor_id: Optional[str]) -> FolderRow:
        async with self._changing(source.slug):
            return await folders.create_folder(self.registry, source, parent, name,
                                               on_conflict, actor_id)

    async def move_folder(self, source: Source, path: str, *, parent: str, name: str,
                          on_conflict: str, actor_id: Optional[str]) -> FolderRow:
        async with self._changing(source.slug):
            return await folders.move_folder(self.registry, self.sources, source, path,
                                             parent=parent, name=name,
                                             on_conflict=on_conflict, actor_id=actor_id)

    async def move_file(self, file: FileRow, *, to: Source, folder: str, filename: str,
                        on_conflict: str, actor_id: Optional[str],
                        may_replace: frozenset = frozenset()) -> FileRow:
        # Both sources' locks, always in the same order.
        async with self._changing(min(file.source_slug, to.slug)):
            async with self._second_lock(file.source_slug, to.slug):
                return await files.move_file(
                    self.registry, self.sources, file, to=to, folder=folder,
                    filename=filename, on_conflict=on_conflict, actor_id=actor_id,
                    may_replace=may_replace)

    async def move_files(self, rows: list[FileRow], *, to: Source, folder: str,
                         on_conflict: str, actor_id: Optional[str],
                         may_replace: frozenset = frozenset()
                         ) -> list[Union[FileRow, Exception]]:
        """Files ``rows`` (all of one source) into ``folder`` of ``to``, names
        kept: each file's moved row, or the error that refused it."""
        if not rows:
            return []
        slug = rows[0].source_slug
        async with self._changing(min(slug, to.slug)):
            async with self._second_lock(slug, to.slug):
                return await files.move_files(
                    self.registry, self.sources, rows, to=to, folder=folder,
                    on_conflict=on_conflict, actor_id=actor_id, may_replace=may_replace)

    def _second_lock(self, a: str, b: str):
        return self._changing(max(a, b)) if a != b else contextlib.nullcontext()

    async def trash_file(self, file: FileRow, actor_id: Optional[str]) -> TrashItem:
        # Allowed during a sync: no bytes move, and a walk knows trashed files' bytes.
        async with self.lock(file.source_slug):
            return await trash.trash_file(self.registry, file, actor_id)

    async def delete_file(self, file: FileRow) -> None:
        """Delete ``file`` for good (no trash), once no move of its source is
        under way; allowed during a sync, as trash_file."""
        async with self.lock(file.source_slug):
            await trash.delete_file(self.registry, self.sources.get(file.source_slug), file)

    async def trash_files(self, rows: list[FileRow],
                          actor_id: Optional[str]) -> list[Union[TrashItem, Exception]]:
        """Files ``rows`` (all of one source) to the trash, an item each."""
        if not rows:
            return []
        # Allowed during a sync, as trash_file.
        async with self.lock(rows[0].source_slug):
            return await trash.trash_files(self.registry, rows, actor_id)

    async def trash_folder(self, source: Source, path: str,
                           actor_id: Optional[str]) -> TrashItem:
        async with self._changing(source.slug):
            return await trash.trash_folder(self.registry, self.sources, source, path, actor_id)

    async def restore(self, item: TrashItem,
                      actor_id: Optional[str]) -> Union[FileRow, FolderRow]:
        async with self._changing(item.source_slug):
            return await trash.restore(self.registry, self.sources, item, actor_id)

    async def purge(self, item: TrashItem) -> int:
        async with self._changing(item.source_slug):
            return await trash.purge(self.registry, self.sources, item)

    async def empty(self, source: Source, owner: Optional[str] = None) -> int:
        """Purge every item of ``source`` (only ``owner``'s, if given)."""
        purged = 0
        async with self._changing(source.slug):
            while items := await self.registry.trash.items(source.slug, limit=100,
                                                           owner=owner):
                for item in items:
                    purged += await trash.purge(self.registry, self.sources, item) or 1
        return purged

    async def purge_expired(self, retention_days: float) -> int:
        """Purge every item in the trash longer than ``retention_days``, each
        under its source's lock (a restore of it may be under way), even
        during a sync: a purge moves no bytes a walk could meet."""
        before = trash.expired_before(retention_days)
        purged = 0
        while items := await self.registry.trash.expired(before):
            for item in items:
                async with self.lock(item.source_slug):
                    current = await self.registry.trash.get(item.id)
                    if current is not None:
                        await trash.purge(self.registry, self.sources, current)
                purged += 1
        return purged

    async def purge_expired_forever(self, retention_days: float,
                                    every_seconds: float = 3600) -> None:
        """Purge what has been in the trash longer than the retention, now and
        then every ``every_seconds``."""
        while True:
            try:
                purged = await self.purge_expired(retention_days)
                if purged:
                    log.info("datasette-files: purged %d item(s) from the trash", purged)
            except Exception:
                log.exception("datasette-files: could not purge the trash")
            await asyncio.sleep(every_seconds)

