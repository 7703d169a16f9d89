"""Sync: register the files already in a source's storage, and keep up with it.

New files get ids; files whose bytes vanished leave the registry; changed
files (size or modification time) are re-hashed and lose their thumbnails; a
file moved or renamed keeps its id when its size and hash match a vanished
one. A root that is missing, unreadable or suddenly empty while files are
registered removes nothing: the source is reported unhealthy instead.
Hashing happens afterwards, in the background, one file at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import mimetypes
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from .files import format_timestamp, utc_now
from .naming import new_file_id
from .sources import Source

log = logging.getLogger("datasette_files")
HASH_CHUNK = 1024 * 1024
ADD_BATCH = 5000


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
    storage = source.storage
    try:
        await asyncio.to_thread(storage.check_readable)
    except OSError as ex:
        status.state = "unhealthy"
        status.error = f"The root cannot be read ({ex}); nothing was changed"
        return
    scan = await asyncio.to_thread(storage.scan, include_hidden)
    on_disk, status.found, status.skipped = scan.files, len(scan.files), scan.skipped
    registered = await registry.source_index(source.slug)
    if not on_disk and registered and not confirm_removals:
        status.state = "unhealthy"
        status.error = (f"The root is empty but {len(registered)} files are registered: is it "
                        "unmounted? Nothing was removed; sync with confirm_removals to remove them")
        return

    # Bytes of an upload that is not complete yet belong to that upload.
    pending = await registry.pending_upload_paths(source.slug)
    new_paths = [p for p in on_disk if p not in registered and p not in pending]
    gone = {p: row for p, row in registered.items() if p not in on_disk}
    changed = []
    for path, (size, mtime) in on_disk.items():
        if path in registered:
            _, known_size, known_mtime, _ = registered[path]
            # Uploaded files have no recorded mtime: their size tells.
            if known_size != size or (known_mtime is not None and known_mtime != mtime):
                changed.append((size, mtime, registered[path][0]))
    moved, new_paths = await _find_moves(storage, on_disk, new_paths, gone)
    moved_ids = {m[4] for m in moved}
    removed = [row[0] for row in gone.values() if row[0] not in moved_ids]
    now = format_timestamp(utc_now())
    # New rows are built a batch at a time: memory stays bounded for huge folders.
    for start in range(0, len(new_paths), ADD_BATCH):
        added = [_new_row(source.slug, path, *on_disk[path], now)
                 for path in new_paths[start:start + ADD_BATCH]]
        await registry.apply_sync(source.slug, added, [], [], [])
        status.added += len(added)  # progress, visible while the sync runs
    await registry.apply_sync(source.slug, [], removed, changed, moved)
    status.removed, status.changed, status.moved = len(removed), len(changed), len(moved)
    status.state = "done"


async def _find_moves(storage, on_disk, new_paths, gone):
    """Pair new paths with vanished files of the same size and hash."""
    by_size: dict[int, list] = {}
    for path, (file_id, size, mtime, content_hash) in gone.items():
        if content_hash:
            by_size.setdefault(size, []).append((file_id, content_hash))
    moved, still_new = [], []
    for path in new_paths:
        size, mtime = on_disk[path]
        candidates = by_size.get(size)
        match = None
        if candidates:
            try:
                digest = await asyncio.to_thread(_hash_file, storage.resolve(path))
            except (OSError, ValueError):
                digest = None  # changed under us since the scan: the next sync sees it
            match = next((c for c in candidates if c[1] == digest), None)
        if match:
            candidates.remove(match)
            folder, _, filename = path.rpartition("/")
            moved.append((path, filename, folder, mtime, match[0]))
        else:
            still_new.append(path)
    return moved, still_new


def _new_row(source_slug: str, path: str, size: int, mtime_ns: int, now: str) -> dict:
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


def _hash_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(HASH_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


class Hasher:
    """Hashes registered files that have no hash yet, one at a time, in the
    background: never blocking start-up or requests."""

    def __init__(self, registry, sources, thumbnails):
        self.registry = registry
        self.sources = sources
        self.thumbnails = thumbnails
        self.wake = asyncio.Event()
        self.hashed = 0

    async def run(self, datasette=None) -> None:
        while True:
            rows = await self.registry.unhashed(100)
            rows = [r for r in rows if r["source_slug"] in self.sources]
            if not rows:
                self.wake.clear()
                await self.wake.wait()
                continue
            hashed = []
            for row in rows:
                hashed.append((row, await self._hash(row)))
            await self.registry.set_hashes(
                [(digest, row["id"], row["size"]) for row, digest in hashed])
            self.hashed += len(hashed)
            for row, digest in hashed:
                # Eager thumbnails for images; other types are drawn on request.
                if digest != "unreadable" and (row["content_type"] or "").startswith("image/"):
                    self.thumbnails.enqueue({**row, "content_hash": digest})

    async def _hash(self, row: dict) -> str:
        storage = self.sources.get(row["source_slug"]).storage
        try:
            if hasattr(storage, "resolve"):
                digest = await asyncio.to_thread(_hash_file, storage.resolve(row["path"]))
            else:
                sha = hashlib.sha256()
                async for chunk in storage.stream_file(row["path"]):
                    sha.update(chunk)
                digest = "sha256:" + sha.hexdigest()
        except (OSError, ValueError):
            digest = "unreadable"  # gone or refused; the next sync settles it
        return digest
