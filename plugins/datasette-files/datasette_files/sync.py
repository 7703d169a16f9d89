"""Sync: register the files already in a source's storage, and keep up with it.

New files get ids; files whose bytes vanished leave the registry; changed
files (size or modification time) are re-hashed and lose their thumbnails; a
file moved or renamed keeps its id when its size and hash match a vanished
one. A root that is missing, unreadable or suddenly empty while files are
registered removes nothing: the source is reported unhealthy instead; a
subfolder that cannot be read keeps its files. Hashing happens afterwards, in
the background, one file at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import mimetypes
import time
from dataclasses import asdict, dataclass, field
from typing import AsyncIterator, Optional

from .files import format_timestamp, utc_now
from .naming import new_file_id
from .sources import Source
from .storage.filesystem import ScannedFolder, is_hidden

log = logging.getLogger("datasette_files")
HASH_CHUNK = 1024 * 1024
WRITE_BATCH = 5000
LIST_PAGE = 1000
HASH_BATCH = 200
UNREADABLE = "unreadable"  # content_hash of a file the hasher could not read


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

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("lock")
        return data


async def sync_source(registry, source: Source, status: SyncStatus,
                      include_hidden: bool = False, confirm_removals: bool = False) -> SyncStatus:
    """Run one sync of ``source``; raises SyncInProgress if one is running."""
    if status.lock.locked():
        raise SyncInProgress(f"A sync of {source.slug!r} is already running")
    async with status.lock:
        started = time.monotonic()
        status.__init__(state="running", started_at=format_timestamp(utc_now()),
                        lock=status.lock)
        try:
            await _sync(registry, source, status, include_hidden, confirm_removals)
        except Exception as ex:
            log.exception("datasette-files: sync of %s failed", source.slug)
            status.state, status.error = "failed", f"{type(ex).__name__}: {ex}"
        status.finished_at = format_timestamp(utc_now())
        status.seconds = round(time.monotonic() - started, 2)
        return status


async def _sync(registry, source, status, include_hidden, confirm_removals) -> None:
    """Compare storage with the registry one folder at a time, so memory follows
    the largest folder, not the whole source."""
    storage = source.storage
    if hasattr(storage, "check_readable"):
        try:
            await asyncio.to_thread(storage.check_readable)
        except OSError as ex:
            status.state = "unhealthy"
            status.error = f"The root cannot be read ({ex}); nothing was changed"
            return
    registered = await registry.count_in_source(source.slug)
    first_new_seq = await registry.last_seq()
    writes = _Writes(registry, status)
    visited: set[str] = set()
    unreadable: list[str] = []
    gone: list[tuple] = []  # (id, size, content_hash) of files no longer at their path
    now = format_timestamp(utc_now())
    async for folders in folder_batches(storage, include_hidden):
        known = await registry.folder_index(source.slug, [f.path for f in folders if f.readable])
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
                    writes.added.append(_new_row(source.slug, prefix + name, size, mtime, now))
                    continue
                file_id, known_size, known_mtime, _ = row
                if known_size != size or (None not in (known_mtime, mtime)
                                          and known_mtime != mtime):
                    writes.changed.append((size, mtime, file_id))
                elif known_mtime is None and mtime is not None:
                    # Uploaded files learn their modification time, so a later edit shows.
                    writes.stamped.append((mtime, file_id))
        gone.extend((row[0], row[1], row[3]) for row in known.values())
        await writes.flush(when_full=True)
    await writes.flush()

    if not status.found and registered and not confirm_removals:
        status.state = "unhealthy"
        status.error = (f"The root is empty but {registered} files are registered: is it "
                        "unmounted? Nothing was removed; sync with confirm_removals to remove them")
        return
    vanished = [folder for folder in await registry.folders(source.slug)
                if folder not in visited and not _within_any(folder, unreadable)]
    for start in range(0, len(vanished), LIST_PAGE):
        rows = await registry.folder_index(source.slug, vanished[start:start + LIST_PAGE])
        gone.extend((row[0], row[1], row[3]) for row in rows.values())

    moves = await _find_moves(registry, source, first_new_seq, gone)
    for start in range(0, len(moves), WRITE_BATCH):
        batch = moves[start:start + WRITE_BATCH]
        await registry.move_synced(batch)
        # Registered as new during the walk; now known as the old files, moved.
        status.moved += len(batch)
        status.added -= len(batch)
    moved = {old_id for old_id, _ in moves}
    removed = [file_id for file_id, _, _ in gone if file_id not in moved]
    for start in range(0, len(removed), WRITE_BATCH):
        await registry.remove_synced(removed[start:start + WRITE_BATCH])
        status.removed += len(removed[start:start + WRITE_BATCH])
    status.state = "done"


class _Writes:
    """A sync's pending registry writes, flushed in batches: bounded memory, and
    progress counts that move while the sync runs."""

    def __init__(self, registry, status: SyncStatus):
        self.registry, self.status = registry, status
        self.added: list[dict] = []
        self.changed: list[tuple] = []
        self.stamped: list[tuple] = []

    async def flush(self, when_full: bool = False) -> None:
        if when_full and len(self.added) + len(self.changed) + len(self.stamped) < WRITE_BATCH:
            return
        self.status.added += await self.registry.add_synced(self.added)
        if self.changed or self.stamped:
            await self.registry.update_synced(self.changed, self.stamped)
        self.status.changed += len(self.changed)
        self.added, self.changed, self.stamped = [], [], []


async def folder_batches(storage, include_hidden: bool) -> AsyncIterator[list[ScannedFolder]]:
    """The storage's folders, a few thousand files' worth at a time: walked off the
    event loop for storages that can walk (the filesystem), else gathered from
    ``list_files`` pages."""
    if hasattr(storage, "walk"):
        walk = storage.walk(include_hidden)
        while batch := await asyncio.to_thread(_next_batch, walk):
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


def _next_batch(walk) -> list[ScannedFolder]:
    batch, files = [], 0
    for folder in walk:
        batch.append(folder)
        files += len(folder.files)
        if files >= WRITE_BATCH or len(batch) >= LIST_PAGE:
            break
    return batch


def _within_any(folder: str, parents: list[str]) -> bool:
    return any(folder == p or folder.startswith(p + "/") or not p for p in parents)


async def _find_moves(registry, source, first_new_seq: int, gone: list[tuple]) -> list[tuple]:
    """(old_id, new_id) for files registered by this sync whose size and hash
    match a vanished file: moved or renamed, so they keep the old id."""
    by_size: dict[int, list] = {}
    for file_id, size, content_hash in gone:
        if content_hash and content_hash != UNREADABLE:
            by_size.setdefault(size, []).append((file_id, content_hash))
    if not by_size:
        return []
    moves = []
    candidates = [row for row in await registry.added_since(
        source.slug, first_new_seq, sorted(by_size)) if row[2] in by_size]
    for start in range(0, len(candidates), HASH_BATCH):
        batch = candidates[start:start + HASH_BATCH]
        digests = await hash_stored_files(source.storage, [row[1] for row in batch if not row[3]])
        for new_id, path, size, content_hash in batch:
            # Changed or gone since the walk: no match, and the next sync sees it.
            digest = content_hash or digests[path]
            match = next((c for c in by_size[size] if c[1] == digest), None)
            if match:
                by_size[size].remove(match)
                moves.append((match[0], new_id))
    return moves


def _new_row(source_slug: str, path: str, size: int, mtime_ns: Optional[int], now: str) -> dict:
    folder, _, filename = path.rpartition("/")
    return {
        "id": new_file_id(),
        "source_slug": source_slug,
        "path": path,
        "filename": filename,
        "folder": folder,
        "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        "content_hash": None,
        "size": size,
        "mtime_ns": mtime_ns,
        "created_at": now,
        "metadata": json.dumps({"synced": True}),
        "search_text": "",
    }


async def hash_stored_files(storage, paths: list[str]) -> dict[str, Optional[str]]:
    """path -> ``sha256:…`` of stored files, or None for one that cannot be read
    (gone, refused). Local files are hashed in one trip off the event loop."""
    if hasattr(storage, "resolve"):
        return await asyncio.to_thread(lambda: {path: _hash_local(storage, path)
                                                for path in paths})
    digests = {}
    for path in paths:
        try:
            sha = hashlib.sha256()
            async for chunk in storage.stream_file(path):
                sha.update(chunk)
            digests[path] = "sha256:" + sha.hexdigest()
        except (OSError, ValueError):
            digests[path] = None
    return digests


def _hash_local(storage, path: str) -> Optional[str]:
    try:
        return _hash_file(storage.resolve(path))
    except (OSError, ValueError):
        return None


def _hash_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(HASH_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


class Hasher:
    """Hashes registered files that have no hash yet, one after another on one
    background thread: never blocking start-up or requests."""

    def __init__(self, registry, sources, thumbnails):
        self.registry = registry
        self.sources = sources
        self.thumbnails = thumbnails
        self.wake = asyncio.Event()
        self.hashed = 0

    async def run(self, datasette=None) -> None:
        while True:
            # Only configured sources: rows of a source removed from the config wait.
            rows = await self.registry.unhashed([s.slug for s in self.sources], 100)
            if not rows:
                self.wake.clear()
                await self.wake.wait()
                continue
            hashed = []
            for slug in {row["source_slug"] for row in rows}:
                mine = [row for row in rows if row["source_slug"] == slug]
                digests = await hash_stored_files(self.sources.get(slug).storage,
                                                  [row["path"] for row in mine])
                # Unreadable: marked, not retried in a loop; the next sync settles it.
                hashed.extend((row, digests[row["path"]] or UNREADABLE) for row in mine)
            await self.registry.set_hashes(
                [(digest, row["id"], row["size"]) for row, digest in hashed])
            self.hashed += len(hashed)
            for row, digest in hashed:
                # Eager thumbnails for images; other types are drawn on request.
                if digest != UNREADABLE and (row["content_type"] or "").startswith("image/"):
                    self.thumbnails.enqueue({**row, "content_hash": digest})
