"""The files table as sync and the hasher see it: what is registered where, and
the writes that bring it in line with storage."""

from __future__ import annotations

from typing import NamedTuple, Optional

from ..naming import new_file_id
from .folders import ensure_folders
from .rows import FILE_COLUMNS, FileRow

# SQLite's limit on host parameters is far above this; chunks keep statements small.
IN_CHUNK = 500


class KnownFile(NamedTuple):
    """A registered file as sync compares it with storage."""

    id: str
    size: Optional[int]
    mtime_ns: Optional[int]
    content_hash: Optional[str]


class AddedFile(NamedTuple):
    """A file registered during a sync: a vanished file may have moved here."""

    id: str
    path: str
    size: Optional[int]
    content_hash: Optional[str]


class SyncedFiles:
    """Queries and writes over ``datasette_files_files`` for sync and hashing."""

    def __init__(self, db):
        self.db = db

    async def in_folders(self, source: str, folders: list[str]) -> dict[str, KnownFile]:
        """path -> KnownFile for the files directly in ``folders`` (at most a thousand)."""
        if not folders:
            return {}
        rows = await self.db.execute(
            "SELECT path, id, size, mtime_ns, content_hash FROM datasette_files_files "
            f"WHERE source_slug = ? AND folder IN ({', '.join('?' * len(folders))})",
            [source, *folders])
        return {row[0]: KnownFile(*row[1:]) for row in rows}

    async def folders(self, source: str) -> list[str]:
        """Every folder holding registered files of a source."""
        rows = await self.db.execute(
            "SELECT DISTINCT folder FROM datasette_files_files WHERE source_slug = ?", [source])
        return [row[0] for row in rows]

    async def count(self, source: str) -> int:
        return (await self.db.execute(
            "SELECT count(*) FROM datasette_files_files WHERE source_slug = ?",
            [source])).first()[0]

    async def last_seq(self) -> int:
        return (await self.db.execute(
            "SELECT coalesce(max(seq), 0) FROM datasette_files_files")).first()[0]

    async def added_since(self, source: str, seq: int, sizes: list[int]) -> list[AddedFile]:
        """Files registered after ``seq`` with one of ``sizes``."""
        found = []
        for start in range(0, len(sizes), IN_CHUNK):
            chunk = sizes[start:start + IN_CHUNK]
            rows = await self.db.execute(
                "SELECT id, path, size, content_hash FROM datasette_files_files "
                f"WHERE seq > ? AND source_slug = ? AND size IN ({', '.join('?' * len(chunk))})",
                [seq, source, *chunk])
            found.extend(AddedFile(*row) for row in rows)
        return found

    async def ids_in_use(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` a registered file holds."""
        return await self.db.execute_fn(lambda conn: _ids_in_use(conn, ids))

    async def add(self, files: list[tuple[FileRow, Optional[int]]]) -> int:
        """Register ``(file, mtime_ns)`` pairs found in storage; how many were new.

        A path already registered, or claimed by an upload that is not complete
        (its bytes belong to that upload), is left alone: checked inside the
        write, so a concurrent upload never collides with a sync. A file whose id
        is taken (a file we stored, found with no row, that is a copy of one
        registered, or two copies found at once) is registered under a new id.
        """
        if not files:
            return 0
        rows = [{**file.as_sql_params(), "mtime_ns": mtime_ns} for file, mtime_ns in files]
        columns = list(rows[0])
        insert = (
            f"INSERT OR IGNORE INTO datasette_files_files ({', '.join(columns)}) "
            f"SELECT {', '.join(':' + c for c in columns)} WHERE NOT EXISTS ("
            "SELECT 1 FROM datasette_files_uploads WHERE source_slug = :source_slug "
            "AND path = :path AND status != 'completed')")

        def write(conn):
            taken = _ids_in_use(conn, [row["id"] for row in rows])
            for row in rows:
                if row["id"] in taken:
                    row["id"] = new_file_id()
                taken.add(row["id"])
            ensure_folders(conn, rows[0]["source_slug"], {row["folder"] for row in rows})
            # rowcount counts the inserts, not the triggers' changes.
            return conn.executemany(insert, rows).rowcount

        return await self.db.execute_write_fn(write)

    async def update(self, changed: list[tuple], stamped: list[tuple]) -> None:
        """``changed``: (size, mtime_ns, id) of files whose bytes changed; they lose
        their hash, dimensions and thumbnails, and are hashed again. ``stamped``:
        (mtime_ns, id) of files whose modification time was not known yet."""

        def write(conn):
            conn.executemany(
                "UPDATE datasette_files_files SET size = ?, mtime_ns = ?, "
                "content_hash = NULL, width = NULL, height = NULL, hash_failures = 0, "
                "hash_retry_at = NULL WHERE id = ?", changed)
            conn.executemany("DELETE FROM datasette_files_thumbnails WHERE file_id = ?",
                             [(c[2],) for c in changed])
            conn.executemany("UPDATE datasette_files_files SET mtime_ns = ? WHERE id = ?",
                             stamped)

        await self.db.execute_write_fn(write)

    async def move(self, moves: list[tuple[str, str]]) -> None:
        """(old_id, new_id) pairs: the file registered as ``new_id`` is the one
        known as ``old_id``, moved. The old id takes over the new path, so links
        stay valid, and the new row goes."""

        def write(conn):
            for old_id, new_id in moves:
                row = conn.execute(
                    "SELECT path, filename, folder, mtime_ns FROM datasette_files_files "
                    "WHERE id = ?", [new_id]).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM datasette_files_files WHERE id = ?", [new_id])
                conn.execute(
                    "UPDATE datasette_files_files SET path = ?, filename = ?, folder = ?, "
                    "mtime_ns = ? WHERE id = ?", [*row, old_id])

        await self.db.execute_write_fn(write)

    async def remove(self, file_ids: list[str]) -> None:
        """Forget files whose bytes are gone from storage."""
        await self.db.execute_write_many(
            "DELETE FROM datasette_files_files WHERE id = ?", [(i,) for i in file_ids])

    async def unhashed(self, sources: list[str], now: float, limit: int = 100) -> list[FileRow]:
        """Files of ``sources`` not hashed yet and due (never tried, or due to be
        tried again by ``now``, in unix seconds), oldest first."""
        rows = await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE content_hash IS NULL "
            f"AND source_slug IN ({', '.join('?' * len(sources))}) "
            "AND (hash_retry_at IS NULL OR hash_retry_at <= ?) ORDER BY seq LIMIT ?",
            [*sources, now, limit])
        return [FileRow.from_sql(row) for row in rows]

    async def next_hash_retry(self, sources: list[str]) -> Optional[float]:
        """When the next file of ``sources`` whose hashing failed is to be tried
        again (unix seconds), or None if none waits."""
        return (await self.db.execute(
            "SELECT min(hash_retry_at) FROM datasette_files_files WHERE content_hash IS NULL "
            f"AND source_slug IN ({', '.join('?' * len(sources))})", sources)).first()[0]

    async def set_hashes(self, hashes: list[tuple]) -> None:
        """(content_hash, id, size, mtime_ns) of hashed files; a file whose size or
        modification time changed meanwhile keeps no hash (it is hashed again)."""
        await self.db.execute_write_many(
            "UPDATE datasette_files_files SET content_hash = ?, hash_failures = 0, "
            "hash_retry_at = NULL WHERE id = ? AND size = ? AND mtime_ns IS ?", hashes)

    async def hash_failed(self, failures: list[tuple]) -> None:
        """(retry_at, id) of files that could not be hashed: tried again at
        ``retry_at`` (unix seconds)."""
        await self.db.execute_write_many(
            "UPDATE datasette_files_files SET hash_failures = hash_failures + 1, "
            "hash_retry_at = ? WHERE id = ? AND content_hash IS NULL", failures)


def _ids_in_use(conn, ids: list[str]) -> set[str]:
    taken = set()
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start:start + IN_CHUNK]
        taken.update(row[0] for row in conn.execute(
            "SELECT id FROM datasette_files_files "
            f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
    return taken
