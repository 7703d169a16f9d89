"""Sync: register the files already in a source's storage, and keep up with it.

New files get ids, except files we stored ourselves (their storage name
holds their id): a registry older than the storage (a restored backup, a lost
database) gets them back under their own ids, with the display name, type and
owner recorded beside the bytes where the storage keeps records. Files other
tools stored keep their ids the same way where the storage can keep an id in
a file's metadata (``FileIdStamps``): sync stamps the ids it gives, on
writable sources, before registering the files. Files whose
bytes vanished leave the registry; changed
files (size or modification time) are re-hashed and lose their thumbnails; a
file moved or renamed keeps its id when its size and hash match a vanished
one. A root that is missing, unreadable or suddenly empty while files are
registered removes nothing: the source is reported unhealthy instead; a
subfolder that cannot be read keeps its files. Hashing happens afterwards, in
the background (``hashing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import AsyncIterator, Optional

from .base import (
    FileIdStamps,
    FileRecord,
    FileRecords,
    FolderMaking,
    FolderWalks,
    HealthChecks,
    ScannedFolder,
    StorageUnavailable,
    StoredId,
)
from .clock import format_timestamp, now_timestamp
from .hashing import hash_stored_files
from .naming import (
    StorageName,
    content_type_for,
    display_filename,
    is_hidden,
    is_valid_content_type,
    new_file_id,
    parse_storage_name,
    storage_path,
)
from .organise.service import Organiser
from .registry import FileRow, KnownFile, Registry
from .sources import Source

log = logging.getLogger("datasette_files")
WRITE_BATCH = 5000
LIST_PAGE = 1000
HASH_BATCH = 200


class SyncInProgress(Exception):
    pass


@dataclass
class SyncStatus:
    """What the last (or current) sync of a source found and did."""

    state: str = "never"  # never, running, done, unhealthy, failed
    found: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    moved: int = 0
    skipped: int = 0
    error: Optional[str] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    seconds: Optional[float] = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self.lock.locked()

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("lock")
        return data


class SyncStatuses:
    """The last or current sync of each source, by slug."""

    def __init__(self) -> None:
        self._by_slug: dict[str, SyncStatus] = {}

    def of(self, slug: str) -> SyncStatus:
        """The status of ``slug``'s syncs (created, as "never", on first use)."""
        return self._by_slug.setdefault(slug, SyncStatus())

    def get(self, slug: str) -> Optional[SyncStatus]:
        """The status of ``slug``'s syncs, or None if it has never been synced."""
        return self._by_slug.get(slug)


async def sync_source(registry: Registry, source: Source, status: SyncStatus,
                      include_hidden: bool = False, confirm_removals: bool = False,
                      organiser: Optional[Organiser] = None) -> SyncStatus:
    """Run one sync of ``source``; raises SyncInProgress if one is running.
    With ``organiser``, no folder or file of it moves while the sync runs."""
    if status.running:
        raise SyncInProgress(f"A sync of {source.slug!r} is already running")
    exclusive = organiser.syncing(source.slug) if organiser else contextlib.nullcontext()
    async with status.lock, exclusive:
        started = time.monotonic()
        status.__init__(state="running", started_at=now_timestamp(), lock=status.lock)
        try:
            await _sync(registry, source, status, include_hidden, confirm_removals)
        except Exception as ex:
            log.exception("datasette-files: sync of %s failed", source.slug)
            status.state, status.error = "failed", f"{type(ex).__name__}: {ex}"
        status.finished_at = now_timestamp()
        status.seconds = round(time.monotonic() - started, 2)
        return status


async def _sync(registry: Registry, source: Source, status: SyncStatus, include_hidden: bool,
                confirm_removals: bool) -> None:
    """Compare storage with the registry one folder at a time, so memory follows
    the largest folder, not the whole source."""
    storage = source.storage
    if isinstance(storage, HealthChecks):
        try:
            await storage.check_health(writable=False)
        except StorageUnavailable as ex:
            status.state = "unhealthy"
            status.error = f"The root cannot be read ({ex}); nothing was changed"
            return
    synced = registry.synced
    registered = await synced.count(source.slug)
    first_new_seq = await synced.last_seq()
    writes = _Writes(registry, status)
    visited: set[str] = set()
    unreadable: list[str] = []
    gone: list[KnownFile] = []  # files no longer at their path
    now = now_timestamp()
    # Bytes of files in the trash, and of changes in flight, are not new files.
    in_flight = await registry.journal.paths_in_flight(source.slug)
    async for folders in folder_batches(source, include_hidden):
        readable = [f.path for f in folders if f.readable]
        known = await synced.in_folders(source.slug, readable)
        not_new = in_flight | await registry.trash.paths_in_folders(source.slug, readable)
        unregistered: list[tuple[str, int, Optional[int]]] = []
        for folder in folders:
            if not folder.readable:
                unreadable.append(folder.path)  # contents unknown, not gone
                status.skipped += 1
                continue
            visited.add(folder.path)
            status.found += len(folder.files)
            status.skipped += folder.skipped
            prefix = f"{folder.path}/" if folder.path else ""
            for name, (size, mtime) in folder.files.items():
                row = known.pop(prefix + name, None)
                if row is None:
                    if prefix + name not in not_new:
                        unregistered.append((prefix + name, size, mtime))
                elif row.size != size or (None not in (row.mtime_ns, mtime)
                                          and row.mtime_ns != mtime):
                    writes.changed.append((size, mtime, row.id))
                elif row.mtime_ns is None and mtime is not None:
                    # Uploaded files learn their modification time, so a later edit shows.
                    writes.stamped.append((mtime, row.id))
        gone.extend(known.values())
        writes.added.extend(await _rows_for(registry, source, unregistered, now))
        await writes.flush(when_full=True)
    await writes.flush()

    if not status.found and registered and not confirm_removals:
        status.state = "unhealthy"
        status.error = (f"The root is empty but {registered} files are registered: is it "
                        "unmounted? Nothing was removed; sync with confirm_removals to remove them")
        return
    vanished = [folder for folder in await synced.folders(source.slug)
                if folder not in visited and not _within_any(folder, unreadable)]
    for start in range(0, len(vanished), LIST_PAGE):
        rows = await synced.in_folders(source.slug, vanished[start:start + LIST_PAGE])
        gone.extend(rows.values())

    moves = await _find_moves(registry, source, first_new_seq, gone)
    moved_mtimes = await _stamp_moved(source, moves)
    for start in range(0, len(moves), WRITE_BATCH):
        batch = moves[start:start + WRITE_BATCH]
        await synced.move([(old_id, new_id) for old_id, new_id, _ in batch])
        # Registered as new during the walk; now known as the old files, moved.
        status.moved += len(batch)
        status.added -= len(batch)
    if moved_mtimes:
        await synced.update([], moved_mtimes)
    moved = {old_id for old_id, _, _ in moves}
    removed = [row.id for row in gone if row.id not in moved]
    for start in range(0, len(removed), WRITE_BATCH):
        await synced.remove(removed[start:start + WRITE_BATCH])
        status.removed += len(removed[start:start + WRITE_BATCH])
    if isinstance(storage, FolderMaking):
        # Folders made or removed in storage by hand, empty ones included.
        await registry.folders.match_storage(source.slug, visited, unreadable, now)
    status.state = "done"


class _Writes:
    """A sync's pending registry writes, flushed in batches: bounded memory, and
    progress counts that move while the sync runs."""

    def __init__(self, registry: Registry, status: SyncStatus):
        self.synced, self.status = registry.synced, status
        self.added: list[tuple[FileRow, Optional[int]]] = []
        self.changed: list[tuple] = []
        self.stamped: list[tuple] = []

    async def flush(self, when_full: bool = False) -> None:
        if when_full and len(self.added) + len(self.changed) + len(self.stamped) < WRITE_BATCH:
            return
        self.status.added += await self.synced.add(self.added)
        if self.changed or self.stamped:
            await self.synced.update(self.changed, self.stamped)
        self.status.changed += len(self.changed)
        self.added, self.changed, self.stamped = [], [], []


async def folder_batches(source: Source, include_hidden: bool) -> AsyncIterator[list[ScannedFolder]]:
    """The storage's folders, a few thousand files' worth at a time: walked, for
    storages that can walk, else gathered from ``list_files`` pages."""
    storage = source.storage
    if isinstance(storage, FolderWalks):
        async for batch in storage.walk_folders(include_hidden):
            yield batch
        return
    folders: dict[str, ScannedFolder] = {}
    cursor, seen = None, set()
    while True:
        files, cursor = await storage.list_files("", cursor, LIST_PAGE)
        for meta in files:
            folder_path, _, name = meta.path.rpartition("/")
            folder = folders.setdefault(folder_path, ScannedFolder(folder_path))
            if not include_hidden and any(is_hidden(part) for part in meta.path.split("/")):
                folder.skipped += 1
            else:
                folder.files[name] = (meta.size or 0, None)
        if cursor is None or cursor in seen:  # a cursor that repeats would loop forever
            break
        seen.add(cursor)
    listed = list(folders.values())
    for start in range(0, len(listed), LIST_PAGE):
        yield listed[start:start + LIST_PAGE]


def _within_any(folder: str, parents: list[str]) -> bool:
    return any(folder == p or folder.startswith(p + "/") or not p for p in parents)


async def _find_moves(registry: Registry, source: Source, first_new_seq: int,
                      gone: list[KnownFile]) -> list[tuple[str, str, str]]:
    """(old_id, new_id, path) for files registered by this sync whose size and
    hash match a vanished file: moved or renamed, so they keep the old id."""
    by_size: dict[int, list] = {}
    for row in gone:
        if row.content_hash:
            by_size.setdefault(row.size, []).append((row.id, row.content_hash))
    if not by_size:
        return []
    moves = []
    candidates = [row for row in await registry.synced.added_since(
        source.slug, first_new_seq, sorted(by_size)) if row.size in by_size]
    for start in range(0, len(candidates), HASH_BATCH):
        batch = candidates[start:start + HASH_BATCH]
        digests = await hash_stored_files(source.storage,
                                          [row.path for row in batch if not row.content_hash])
        for row in batch:
            # Changed or gone since the walk: no match, and the next sync sees it.
            digest = row.content_hash or digests[row.path]
            match = next((c for c in by_size[row.size] if c[1] == digest), None)
            if match:
                by_size[row.size].remove(match)
                moves.append((match[0], row.id, row.path))
    return moves


async def _rows_for(registry: Registry, source: Source,
                    found: list[tuple[str, int, Optional[int]]],
                    now: str) -> list[tuple[FileRow, Optional[int]]]:
    """``(row, mtime_ns)`` for files found with no row: a file we stored keeps
    the id in its storage name, and its record where the storage keeps one;
    any other file keeps the id stamped in its metadata (``FileIdStamps``) if
    no row holds it, else is new."""
    ours = {path: name for path, _, _ in found
            if (name := parse_storage_name(path.rpartition("/")[2])) is not None}
    records: dict[str, Optional[FileRecord]] = {}
    if ours and isinstance(source.storage, FileRecords):
        records = await source.storage.stored_records(list(ours))
    foreign = [(path, size, mtime) for path, size, mtime in found if path not in ours]
    rows = [(_stored_file(source.slug, path, size, ours[path], records.get(path)), mtime)
            for path, size, mtime in found if path in ours]
    if foreign:
        rows.extend(await _foreign_rows(registry, source, foreign, now))
    return rows


async def _foreign_rows(registry: Registry, source: Source,
                        found: list[tuple[str, int, Optional[int]]],
                        now: str) -> list[tuple[FileRow, Optional[int]]]:
    """Rows for files some other tool stored. Where the storage keeps ids in
    metadata, a file keeps the id found there unless a row (or another file
    of the batch: a copy) holds it; the others get new ids, stamped into their
    metadata on a writable source before their rows exist, so a crash in
    between leaves a file whose id the next sync reuses. A read-only source
    never writes: its files keep their new ids only while the registry lives."""
    storage = source.storage
    if not isinstance(storage, FileIdStamps):
        return [(_new_file(source.slug, path, size, now), mtime) for path, size, mtime in found]
    kept = await storage.stored_file_ids([path for path, _, _ in found])
    taken = await registry.synced.ids_in_use(
        sorted({stored.file_id for stored in kept.values() if stored}))
    rows: dict[str, tuple[FileRow, Optional[int]]] = {}
    to_stamp: list[tuple[str, str, FileRecord]] = []
    for path, size, mtime in found:
        stored = kept.get(path)
        if stored and stored.file_id not in taken:
            taken.add(stored.file_id)
            rows[path] = (_stamped_file(source.slug, path, size, stored), mtime)
            continue
        row = _new_file(source.slug, path, size, now)
        rows[path] = (row, mtime)
        if not source.read_only:
            to_stamp.append((path, row.id, FileRecord(row.filename, row.content_type)))
    if to_stamp:
        for path, after in (await storage.stamp_file_ids(to_stamp)).items():
            if after is not None:
                # The stamp's copy is newer than the walk saw: register what the
                # next walk reports, so the file does not look changed.
                row, _ = rows[path]
                rows[path] = (dataclasses.replace(row, size=after[0]), after[1])
    return list(rows.values())


async def _stamp_moved(source: Source, moves: list[tuple[str, str, str]]
                       ) -> list[tuple[Optional[int], str]]:
    """A file another tool stored and moved was registered with the id in its
    metadata only if no row held it, else with a new one, stamped: once known
    as moved, it keeps the old id, stamped before the move is committed.
    Returns ``(mtime_ns, old_id)`` to register once the move is."""
    if source.read_only or not isinstance(source.storage, FileIdStamps):
        return []
    restamps = {path: old_id for old_id, _, path in moves
                if parse_storage_name(path.rpartition("/")[2]) is None}
    if not restamps:
        return []
    stamped = await source.storage.stamp_file_ids([
        (path, old_id, FileRecord(name, content_type_for(name, None)))
        for path, old_id in restamps.items() if (name := path.rpartition("/")[2])])
    return [(after[1], restamps[path]) for path, after in stamped.items() if after]


def _stamped_file(source_slug: str, path: str, size: int, stored: StoredId) -> FileRow:
    """The row of a file another tool stored, whose id we kept in its metadata:
    its name in storage (renamed since, the record's is stale), the type
    recorded if the name is the same, created when the id was made."""
    folder, _, filename = path.rpartition("/")
    record = stored.record if stored.record and stored.record.filename == filename else None
    declared = record.content_type if record else None
    made = parse_storage_name(f"{stored.file_id}-x")
    return FileRow(
        seq=None, id=stored.file_id, source_slug=source_slug, path=path, filename=filename,
        folder=folder, content_type=content_type_for(
            filename, declared if declared and is_valid_content_type(declared) else None),
        content_hash=None, size=size, width=None, height=None, uploaded_by=None,
        created_at=format_timestamp(made.id_time), metadata={"synced": True})


def _new_file(source_slug: str, path: str, size: int, now: str) -> FileRow:
    folder, _, filename = path.rpartition("/")
    return FileRow(
        seq=None, id=new_file_id(), source_slug=source_slug, path=path, filename=filename,
        folder=folder, content_type=content_type_for(filename, None), content_hash=None,
        size=size, width=None, height=None, uploaded_by=None, created_at=now,
        metadata={"synced": True})


def _stored_file(source_slug: str, path: str, size: int, name: StorageName,
                 record: Optional[FileRecord]) -> FileRow:
    """The row of a file we stored, whose row was lost: its own id (the registry
    gives it a new one should a row hold that id already: a copy), created when
    the id was made."""
    folder = path.rpartition("/")[0]
    if record is not None and not _describes(record, name):
        record = None  # renamed on disk since: the name there is the one to show
    filename = record.filename if record else name.ascii_name
    declared = record.content_type if record else None
    return FileRow(
        seq=None, id=name.file_id, source_slug=source_slug, path=path, filename=filename,
        folder=folder, content_type=content_type_for(
            filename, declared if declared and is_valid_content_type(declared) else None),
        content_hash=None, size=size, width=None, height=None,
        uploaded_by=record.uploaded_by if record else None,
        created_at=format_timestamp(name.id_time))


def _describes(record: FileRecord, name: StorageName) -> bool:
    """Whether ``record`` is of the file stored under ``name``: a display name
    that would be stored under that very name."""
    shown = display_filename(record.filename)
    return bool(shown) and shown == record.filename and \
        storage_path(name.file_id, shown) == f"{name.file_id}-{name.ascii_name}"
