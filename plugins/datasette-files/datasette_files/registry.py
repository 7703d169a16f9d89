"""The file registry: the only module that reads or writes the registry's SQL.

The registry lives in Datasette's internal database, where Datasette evaluates
permission SQL, so listings and searches filter by permission inside one query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .errors import ApiError
from .group_commit import GroupCommit
from .schema import apply_migrations

FILE_COLUMNS = (
    "seq, id, source_slug, path, filename, content_type, content_hash, size, "
    "width, height, uploaded_by, created_at, metadata, search_text, folder"
)
# Listing sorts: the name a page uses, and the indexed column it orders by.
LISTING_SORTS = {
    "date": "seq",
    "name": "filename COLLATE NOCASE",
    "size": "size",
    "type": "content_type",
}
# A folder and everything below it.
def folder_filter(alias: str = "") -> str:
    return f"({alias}folder = :folder OR {alias}folder LIKE :folder_prefix ESCAPE '\\')"


def folder_params(folder: str) -> dict:
    folder = folder.strip("/")
    escaped = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"folder": folder, "folder_prefix": escaped + "/%"}


# Beyond this many matches a count is reported as "at least" this many: counting
# every match of a common term in a large registry would make each search slow.
COUNT_CAP = 10_000
# Up to this many matches are ranked by relevance; more are shown newest first
# (ranking 10,000 matches took ~25 ms, and tells little at that size).
RANK_CAP = 1_000


@dataclass
class AllowedSQL:
    """SQL returning a ``parent`` column of the source slugs an actor may browse."""

    sql: str
    params: dict


@dataclass
class SearchPage:
    rows: list[dict]
    total: int
    total_is_capped: bool
    next_cursor: Optional[str]
    sort: str


class FileRegistry:
    """Queries over the registry tables in Datasette's internal database."""

    def __init__(self, db):
        self.db = db
        # The writes of each upload request, batched when requests come together.
        self.group = GroupCommit(db)

    async def migrate(self) -> list[str]:
        # WAL lets searches read while uploads, syncs and hashing write.
        await self.db.execute_write_fn(
            lambda conn: conn.execute("PRAGMA journal_mode=WAL"), transaction=False)
        return await self.db.execute_write_fn(apply_migrations)

    async def set_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Record the configured ``(slug, storage_type)`` pairs, dropping stale ones.

        Files of a source removed from the config stay registered: adding the
        source back makes them reachable again.
        """
        sources = list(sources)

        def write(conn):
            conn.execute("DELETE FROM datasette_files_sources")
            conn.executemany(
                "INSERT INTO datasette_files_sources (slug, storage_type) VALUES (?, ?)",
                sources,
            )

        await self.db.execute_write_fn(write)

    # Files -----------------------------------------------------------------

    async def get(self, file_id: str) -> Optional[dict]:
        rows = await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE id = ?", [file_id]
        )
        row = rows.first()
        return _file_dict(row) if row else None

    async def delete(self, file_id: str) -> bool:
        """Remove the row and its index entry; return False if it was not there."""

        def write(conn):
            return conn.execute(
                "DELETE FROM datasette_files_files WHERE id = ?", [file_id]
            ).rowcount

        return bool(await self.db.execute_write_fn(write))

    async def update_search_text(self, file_id: str, search_text: str) -> None:
        await self.db.execute_write(
            "UPDATE datasette_files_files SET search_text = ? WHERE id = ?",
            [search_text, file_id],
        )

    async def batch(self, file_ids: list[str], allowed: AllowedSQL) -> list[dict]:
        """The files among ``file_ids`` in sources the actor may browse."""
        sql = f"""
            WITH allowed_sources AS (SELECT parent FROM ({allowed.sql}))
            SELECT {FILE_COLUMNS} FROM datasette_files_files
            WHERE id IN (SELECT value FROM json_each(:df_ids))
              AND source_slug IN (SELECT parent FROM allowed_sources)
        """
        params = {**allowed.params, "df_ids": json.dumps(file_ids)}
        return [_file_dict(row) for row in await self.db.execute(sql, params)]

    async def list_source(
        self, source: str, sort: str, descending: bool, limit: int, *,
        offset: int = 0, after: Optional[tuple] = None, folder: Optional[str] = None,
        only_folder: Optional[str] = None,
    ) -> list[dict]:
        """One page of a source's files in the order of ``sort`` (a LISTING_SORTS
        key): from ``offset``, or after the ``(value, seq)`` of a previous page;
        within ``folder`` and below, or directly in ``only_folder``."""
        column = LISTING_SORTS[sort]
        direction = "DESC" if descending else "ASC"
        where, params = ["source_slug = :source"], {"source": source, "limit": limit,
                                                    "offset": offset}
        if folder:
            where.append(folder_filter())
            params.update(folder_params(folder))
        if only_folder is not None:
            where.append("folder = :only_folder")
            params["only_folder"] = only_folder
        if after is not None:
            where.append(f"({column}, seq) {'<' if descending else '>'} (:after_value, :after_seq)")
            params.update(after_value=after[0], after_seq=after[1])
        rows = await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE {' AND '.join(where)} "
            f"ORDER BY {column} {direction}, seq {direction} LIMIT :limit OFFSET :offset",
            params,
        )
        return [_file_dict(row) for row in rows]

    async def subfolders(self, source: str, folder: str) -> list[str]:
        """The names of the folders directly inside ``folder`` ('' is the root)."""
        prefix = f"{folder}/" if folder else ""
        rows = await self.db.execute(
            """SELECT DISTINCT CASE WHEN instr(rest, '/') > 0
                   THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END
               FROM (SELECT substr(folder, :start) AS rest FROM datasette_files_files
                     WHERE source_slug = :source AND folder != ''
                       AND (:prefix = '' OR substr(folder, 1, :length) = :prefix))
               WHERE rest != '' ORDER BY 1 COLLATE NOCASE LIMIT 500""",
            {"source": source, "prefix": prefix, "length": len(prefix),
             "start": len(prefix) + 1},
        )
        return [row[0] for row in rows]

    async def count_in_folder(self, source: str, folder: str) -> int:
        return (await self.db.execute(
            "SELECT count(*) FROM datasette_files_files WHERE source_slug = ? AND folder = ?",
            [source, folder])).first()[0]

    async def count_in_source(self, source: str) -> int:
        return (await self.db.execute(
            "SELECT count(*) FROM datasette_files_files WHERE source_slug = ?",
            [source])).first()[0]

    async def count_by_source(self) -> dict[str, int]:
        rows = await self.db.execute(
            "SELECT source_slug, count(*) FROM datasette_files_files GROUP BY source_slug"
        )
        return {row[0]: row[1] for row in rows}

    async def search(
        self,
        allowed: AllowedSQL,
        *,
        query: str = "",
        source: Optional[str] = None,
        cursor: Optional[str] = None,
        limit: int = 50,
        sort: Optional[str] = None,
        folder: Optional[str] = None,
    ) -> SearchPage:
        """One page of files matching ``query`` in the sources the actor may browse.

        Sorts by relevance when a query matches at most RANK_CAP files and by
        newest first otherwise (ranking every match of a common term is slow);
        ``sort`` picks one explicitly. Newest-first pages use a keyset cursor,
        so deep pages cost the same as the first.
        """
        fts_query = to_fts_query(query)
        params: dict[str, Any] = dict(allowed.params)
        # With a query the full-text index drives: it yields matches in rowid
        # (= seq) order, so newest-first pages and capped counts stop early.
        if fts_query:
            tables = (
                "datasette_files_fts JOIN datasette_files_files f "
                "ON f.seq = datasette_files_fts.rowid"
            )
            where = ["datasette_files_fts MATCH :df_query"]
            order_key = "datasette_files_fts.rowid"
            params["df_query"] = fts_query
        else:
            tables, where, order_key = "datasette_files_files f", [], "f.seq"
        # The unary + keeps the planner off the source indexes for this test:
        # walking seq backwards and filtering stops after one page, where an
        # index on source_slug would sort every allowed file first.
        where.append("+f.source_slug IN (SELECT parent FROM allowed_sources)")
        if source is not None:
            where.append("f.source_slug = :df_source")
            params["df_source"] = source
        if folder:
            where.append(folder_filter("f."))
            params.update(folder_params(folder))
        with_allowed = f"WITH allowed_sources AS (SELECT parent FROM ({allowed.sql}))"
        total = (
            await self.db.execute(
                f"""{with_allowed} SELECT count(*) FROM (
                    SELECT 1 FROM {tables} WHERE {' AND '.join(where)} LIMIT {COUNT_CAP + 1})""",
                params,
            )
        ).first()[0]
        capped = total > COUNT_CAP
        if cursor and sort is None:
            sort = "relevance" if cursor.startswith("o") else "newest"
        if sort not in ("relevance", "newest") or not fts_query:
            sort = "relevance" if fts_query and total <= RANK_CAP else "newest"

        if sort == "relevance":
            offset = _parse_cursor(cursor, "o")
            order = f"datasette_files_fts.rank, {order_key} DESC"
            page = f"LIMIT :df_limit OFFSET {offset}"
        else:
            before = _parse_cursor(cursor, "s")
            if before:
                where.append(f"{order_key} < :df_before")
                params["df_before"] = before
            order, page = f"{order_key} DESC", "LIMIT :df_limit"
        params["df_limit"] = limit + 1
        sql = f"""{with_allowed}
            SELECT {_prefixed_columns('f')} FROM {tables}
            WHERE {' AND '.join(where)} ORDER BY {order} {page}"""
        rows = [_file_dict(r) for r in await self.db.execute(sql, params)]
        if len(rows) <= limit:
            next_cursor = None
        elif sort == "relevance":
            next_cursor = f"o{offset + limit}"
        else:
            next_cursor = f"s{rows[limit - 1]['seq']}"
        return SearchPage(
            rows=rows[:limit],
            total=min(total, COUNT_CAP),
            total_is_capped=capped,
            next_cursor=next_cursor,
            sort=sort,
        )

    # Sync ------------------------------------------------------------------

    async def folder_index(self, source: str, folders: list[str]) -> dict[str, tuple]:
        """path -> (id, size, mtime_ns, content_hash) for the files directly in
        ``folders`` (at most a thousand)."""
        if not folders:
            return {}
        rows = await self.db.execute(
            "SELECT path, id, size, mtime_ns, content_hash FROM datasette_files_files "
            f"WHERE source_slug = ? AND folder IN ({', '.join('?' * len(folders))})",
            [source, *folders])
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    async def folders(self, source: str) -> list[str]:
        """Every folder holding registered files of a source."""
        rows = await self.db.execute(
            "SELECT DISTINCT folder FROM datasette_files_files WHERE source_slug = ?", [source])
        return [row[0] for row in rows]

    async def last_seq(self) -> int:
        return (await self.db.execute(
            "SELECT coalesce(max(seq), 0) FROM datasette_files_files")).first()[0]

    async def added_since(self, source: str, seq: int, sizes: list[int]) -> list[tuple]:
        """(id, path, size, content_hash) of files registered after ``seq`` with one of
        ``sizes``: the candidates a vanished file may have moved to."""
        found = []
        for start in range(0, len(sizes), 500):
            chunk = sizes[start:start + 500]
            rows = await self.db.execute(
                "SELECT id, path, size, content_hash FROM datasette_files_files "
                f"WHERE seq > ? AND source_slug = ? AND size IN ({', '.join('?' * len(chunk))})",
                [seq, source, *chunk])
            found.extend(tuple(row) for row in rows)
        return found

    async def add_synced(self, rows: list[dict]) -> int:
        """Register files found in storage; returns how many were new.

        A path already registered, or claimed by an upload that is not complete
        (its bytes belong to that upload), is left alone: checked inside the
        write, so a concurrent upload never collides with a sync.
        """
        if not rows:
            return 0
        columns = list(rows[0])
        insert = (
            f"INSERT OR IGNORE INTO datasette_files_files ({', '.join(columns)}) "
            f"SELECT {', '.join(':' + c for c in columns)} WHERE NOT EXISTS ("
            "SELECT 1 FROM datasette_files_uploads WHERE source_slug = :source_slug "
            "AND path = :path AND status != 'completed')")

        def write(conn):
            return conn.executemany(insert, rows).rowcount  # triggers' changes not counted

        return await self.db.execute_write_fn(write)

    async def update_synced(self, changed: list[tuple], stamped: list[tuple]) -> None:
        """``changed``: (size, mtime_ns, id) of files whose bytes changed; they lose
        their hash and thumbnails. ``stamped``: (mtime_ns, id) of files whose
        modification time was not known yet."""

        def write(conn):
            conn.executemany(
                "UPDATE datasette_files_files SET size = ?, mtime_ns = ?, "
                "content_hash = NULL, width = NULL, height = NULL WHERE id = ?", changed)
            conn.executemany("DELETE FROM datasette_files_thumbnails WHERE file_id = ?",
                             [(c[2],) for c in changed])
            conn.executemany("UPDATE datasette_files_files SET mtime_ns = ? WHERE id = ?",
                             stamped)

        await self.db.execute_write_fn(write)

    async def move_synced(self, moves: list[tuple]) -> None:
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

    async def remove_synced(self, file_ids: list[str]) -> None:
        """Forget files whose bytes are gone from storage."""
        await self.db.execute_write_many(
            "DELETE FROM datasette_files_files WHERE id = ?", [(i,) for i in file_ids])

    async def unhashed(self, sources: list[str], limit: int = 100) -> list[dict]:
        """Files of ``sources`` not hashed yet, oldest first."""
        rows = await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE content_hash IS NULL "
            f"AND source_slug IN ({', '.join('?' * len(sources))}) ORDER BY seq LIMIT ?",
            [*sources, limit])
        return [_file_dict(row) for row in rows]

    async def set_hashes(self, hashes: list[tuple[str, str, int]]) -> None:
        """(content_hash, id, size) triples; a file whose size changed meanwhile
        keeps no hash (the next sync sees it changed)."""
        await self.db.execute_write_many(
            "UPDATE datasette_files_files SET content_hash = ? WHERE id = ? AND size = ?",
            hashes)

    # Thumbnails ------------------------------------------------------------

    async def thumbnails(self, file_id: str, size: int) -> list[dict]:
        """Cached thumbnails and recorded failures for a file at one size."""
        rows = await self.db.execute(
            "SELECT generator, content_type, thumb, width, height, error "
            "FROM datasette_files_thumbnails WHERE file_id = ? AND size = ?",
            [file_id, size],
        )
        return [dict(row) for row in rows]

    async def store_thumbnail(self, entry: dict) -> None:
        """Record a thumbnail (or, with ``error`` set, a failure) for a file;
        nothing is written if the file was deleted meanwhile."""
        await self.db.execute_write(
            "INSERT OR REPLACE INTO datasette_files_thumbnails (file_id, size, generator, "
            "content_type, thumb, width, height, error, created_at) "
            "SELECT :file_id, :size, :generator, :content_type, :thumb, :width, :height, "
            ":error, :created_at WHERE EXISTS "
            "(SELECT 1 FROM datasette_files_files WHERE id = :file_id)",
            entry,
        )

    # Imports ---------------------------------------------------------------

    async def create_import(self, job: dict) -> None:
        columns = ", ".join(job)
        placeholders = ", ".join(f":{key}" for key in job)
        await self.db.execute_write(
            f"INSERT INTO datasette_files_imports ({columns}) VALUES ({placeholders})", job
        )

    async def update_import(self, import_id: str, **changes) -> None:
        assignments = ", ".join(f"{key} = :{key}" for key in changes)
        await self.db.execute_write(
            f"UPDATE datasette_files_imports SET {assignments} WHERE id = :import_id",
            {**changes, "import_id": import_id},
        )

    async def get_import(self, import_id: str) -> Optional[dict]:
        row = (await self.db.execute(
            "SELECT * FROM datasette_files_imports WHERE id = ?", [import_id])).first()
        return dict(row) if row else None

    async def interrupt_unfinished_imports(self, finished_at: str) -> None:
        await self.db.execute_write(
            "UPDATE datasette_files_imports SET status = 'interrupted', finished_at = ?, "
            "error = 'The server stopped while this import was running; nothing was "
            "imported. Start it again.' WHERE status IN ('queued', 'running')",
            [finished_at],
        )

    # Uploads ---------------------------------------------------------------

    async def create_upload(self, upload: dict) -> None:
        columns = ", ".join(upload)
        placeholders = ", ".join(f":{key}" for key in upload)
        await self.group.run(lambda conn: conn.execute(
            f"INSERT INTO datasette_files_uploads ({columns}) VALUES ({placeholders})",
            upload))

    async def get_upload(self, token: str) -> Optional[dict]:
        row = (
            await self.db.execute(
                "SELECT * FROM datasette_files_uploads WHERE token = ?", [token]
            )
        ).first()
        return dict(row) if row else None

    async def record_received(
        self, token: str, received_bytes: int, content_hash: str
    ) -> None:
        await self.group.run(lambda conn: conn.execute(
            "UPDATE datasette_files_uploads SET status = 'uploaded', received_bytes = ?, "
            "content_hash = ? WHERE token = ?",
            [received_bytes, content_hash, token]))

    async def record_chunk(self, token: str, received_bytes: int, total: int) -> None:
        """A chunk is in: ready for the next one."""
        await self.group.run(lambda conn: conn.execute(
            "UPDATE datasette_files_uploads SET status = 'prepared', received_bytes = ?, "
            "declared_size = ? WHERE token = ?",
            [received_bytes, total, token]))

    async def restart_upload(self, token: str) -> None:
        """Forget the bytes received for an upload: it starts again from zero."""
        await self.db.execute_write(
            "UPDATE datasette_files_uploads SET status = 'prepared', received_bytes = 0, "
            "content_hash = NULL WHERE token = ?",
            [token],
        )

    async def complete_upload(self, token: str, file_row: dict) -> Optional[dict]:
        """Register the file and spend the token in one transaction; the file as
        registered, or None (and nothing written) if the token was already spent."""
        columns = ", ".join(file_row)
        placeholders = ", ".join(f":{key}" for key in file_row)

        def write(conn):
            spent = conn.execute(
                "UPDATE datasette_files_uploads SET status = 'completed' "
                "WHERE token = ? AND status = 'uploaded'",
                [token],
            ).rowcount
            if not spent:
                return None
            cursor = conn.execute(
                f"INSERT INTO datasette_files_files ({columns}) VALUES ({placeholders}) "
                f"RETURNING {FILE_COLUMNS}", file_row)
            return _returned(cursor)

        return await self.group.run(write)

    async def register_file(self, file_row: dict, *,
                            place: Optional[Callable[[], Path]] = None) -> dict:
        """Register a file stored without an upload token; the file as registered.

        ``place`` (see GroupCommit.run) moves the file into place first, in the
        same batch. Should a sync have registered the path in the moment since
        its bytes landed, this registration takes the row over.
        """
        columns = ", ".join(file_row)
        placeholders = ", ".join(f":{key}" for key in file_row)
        updates = ", ".join(f"{key} = excluded.{key}" for key in file_row
                            if key not in ("source_slug", "path"))

        def write(conn):
            cursor = conn.execute(
                f"INSERT INTO datasette_files_files ({columns}) VALUES ({placeholders}) "
                f"ON CONFLICT (source_slug, path) DO UPDATE SET {updates} "
                f"RETURNING {FILE_COLUMNS}", file_row)
            return _returned(cursor)

        return await self.group.run(write, place=place)

    async def reset_interrupted_uploads(self) -> None:
        """Uploads an earlier version left mid-receive (it kept that state on disk)."""
        await self.db.execute_write(
            "UPDATE datasette_files_uploads SET status = 'prepared' WHERE status = 'receiving'"
        )

    async def expired_uploads(self, now: str) -> list[dict]:
        rows = await self.db.execute(
            "SELECT * FROM datasette_files_uploads WHERE expires_at <= ? LIMIT 1000", [now]
        )
        return [dict(row) for row in rows]

    async def delete_upload(self, token: str) -> None:
        await self.db.execute_write(
            "DELETE FROM datasette_files_uploads WHERE token = ?", [token]
        )


def to_fts_query(query: str) -> str:
    """Turn free text into a safe FTS5 query: every word must match, as a prefix.

    Each word is quoted, so FTS5 syntax in user input (quotes, NEAR, column
    filters, parentheses) is searched for literally instead of raising errors.
    """
    words = [w for w in (query or "").split() if w.strip('"')]
    return " ".join('"{}"*'.format(w.replace('"', '""')) for w in words)


def _parse_cursor(cursor: Optional[str], kind: str) -> int:
    if not cursor:
        return 0
    if cursor[0] != kind or not cursor[1:].isdigit():
        raise ApiError(f"Invalid cursor {cursor!r}: use the 'next' value of a previous page")
    return int(cursor[1:])


def _prefixed_columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in FILE_COLUMNS.split(","))


def _returned(cursor) -> dict:
    """The row a RETURNING clause gave, as a file dict (write connections have no row factory)."""
    names = [column[0] for column in cursor.description]
    return _file_dict(dict(zip(names, cursor.fetchone())))


def _file_dict(row) -> dict:
    record = dict(row)
    try:
        record["metadata"] = json.loads(record.get("metadata") or "{}")
    except ValueError:
        record["metadata"] = {}
    return record
