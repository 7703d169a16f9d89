"""The files table: registering, finding, listing and forgetting files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from .folders import below_sql
from .placing import FILE_NAMED_SQL, Placement, place_new_file
from .rows import FILE_COLUMNS, FileRow, insert_file
from .writes import BatchedWrites, FileToStore

@dataclass(frozen=True)
class ListingSort:
    """A listing's order: the SQL of the value it sorts by (as its indexes
    have it), that value's collation, and whether it can be NULL (NULLs come
    first going up, last going down, as SQLite orders them)."""

    value: str
    collation: str = ""
    nullable: bool = False

    @property
    def order_sql(self) -> str:
        return f"{self.value} {self.collation}".rstrip()


# When a file's bytes were last modified, in nanoseconds: their mtime once
# seen in storage, else the file's registration (as Last-Modified says).
MODIFIED_NS_SQL = "coalesce(mtime_ns, unixepoch(created_at) * 1000000000)"

# Listing sorts, each indexed both over a whole source (source_slug, value,
# seq) and within one folder (source_slug, folder, value[, seq as rowid]).
LISTING_SORTS = {
    "date": ListingSort("seq"),
    "name": ListingSort("filename", "COLLATE NOCASE"),
    "size": ListingSort("size", nullable=True),
    "type": ListingSort("content_type", nullable=True),
}
# And the sorts indexed within one folder only (a folder's page; the list
# view's columns), so each costs the write path one index, not two.
FOLDER_SORTS = {
    **LISTING_SORTS,
    "modified": ListingSort(MODIFIED_NS_SQL),
    "uploader": ListingSort("uploaded_by", nullable=True),
}


@dataclass
class AllowedSQL:
    """SQL returning a ``parent`` column of the source slugs an actor may act on
    (from Datasette's ``allowed_resources_sql``), with its parameters."""

    sql: str
    params: dict

    def as_cte(self) -> str:
        return f"WITH allowed_sources AS (SELECT parent FROM ({self.sql}))"


def in_folder_sql(alias: str = "") -> str:
    """A folder and everything below it (parameters from ``in_folder_params``)."""
    return f"({alias}folder = :folder OR {below_sql(alias + 'folder', ':folder')})"


def in_folder_params(folder: str) -> dict:
    return {"folder": folder.strip("/")}


class FilesTable:
    """Queries over ``datasette_files_files``."""

    def __init__(self, db, writes: BatchedWrites):
        self.db = db
        self.writes = writes

    async def get(self, file_id: str) -> Optional[FileRow]:
        row = (await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE id = ?", [file_id])).first()
        return FileRow.from_sql(row) if row else None

    async def get_allowed(self, file_id: str, allowed: AllowedSQL) -> Optional[FileRow]:
        """The file, if it is in a source ``allowed`` names: one query for both."""
        row = (await self.db.execute(
            f"{allowed.as_cte()} SELECT {FILE_COLUMNS} FROM datasette_files_files "
            "WHERE id = :df_id AND source_slug IN (SELECT parent FROM allowed_sources)",
            {**allowed.params, "df_id": file_id})).first()
        return FileRow.from_sql(row) if row else None

    async def register(self, file: FileRow, *, storing: Optional[FileToStore] = None,
                       placement: Placement = Placement()) -> FileRow:
        """Register a file stored without an upload token; the file as registered.

        ``storing`` (a small file's bytes) is stored first, in the same batch.
        Should a sync have registered the path in the moment since its bytes
        landed, this registration takes the row over; otherwise the file takes
        its place in its folder as ``placement`` says.
        """
        params = file.as_sql_params()
        updates = ", ".join(f"{key} = :{key}" for key in params
                            if key not in ("source_slug", "path"))
        take_over = (f"UPDATE datasette_files_files SET {updates} "
                     f"WHERE source_slug = :source_slug AND path = :path RETURNING {FILE_COLUMNS}")

        def write(conn):
            row = conn.execute(take_over, params).fetchone()
            if row is not None:
                return FileRow.from_sql(row)
            return place_new_file(conn, file, placement, lambda new: insert_file(conn, new))

        return await self.writes.run(write, storing=storing)

    async def delete(self, file_id: str) -> bool:
        """Remove the row and its index entry; False if it was not there."""
        return bool(await self.db.execute_write_fn(lambda conn: conn.execute(
            "DELETE FROM datasette_files_files WHERE id = ?", [file_id]).rowcount))

    async def stamp_mtime(self, file_id: str, mtime_ns: int) -> None:
        """Record the modification time of a file's bytes, first seen now (a
        later change then shows), in the next batch of writes."""
        await self.writes.run(lambda conn: conn.execute(
            "UPDATE datasette_files_files SET mtime_ns = ? WHERE id = ? AND mtime_ns IS NULL",
            [mtime_ns, file_id]))

    async def update_search_text(self, file_id: str, search_text: str) -> None:
        await self.db.execute_write(
            "UPDATE datasette_files_files SET search_text = ? WHERE id = ?",
            [search_text, file_id])

    async def batch(self, file_ids: list[str], allowed: AllowedSQL) -> list[FileRow]:
        """The files among ``file_ids`` in sources the actor may browse."""
        sql = f"""{allowed.as_cte()}
            SELECT {FILE_COLUMNS} FROM datasette_files_files
            WHERE id IN (SELECT value FROM json_each(:df_ids))
              AND source_slug IN (SELECT parent FROM allowed_sources)"""
        params = {**allowed.params, "df_ids": json.dumps(file_ids)}
        return [FileRow.from_sql(row) for row in await self.db.execute(sql, params)]

    async def recent(self, allowed: AllowedSQL, limit: int) -> list[FileRow]:
        """The latest files in the sources ``allowed`` names, newest first."""
        # The unary + keeps the planner off the source indexes: walking seq
        # backwards stops after ``limit`` allowed rows, where an index on
        # source_slug would sort every allowed file first.
        rows = await self.db.execute(
            f"{allowed.as_cte()} SELECT {FILE_COLUMNS} FROM datasette_files_files "
            "WHERE +source_slug IN (SELECT parent FROM allowed_sources) "
            "ORDER BY seq DESC LIMIT :df_limit", {**allowed.params, "df_limit": limit})
        return [FileRow.from_sql(row) for row in rows]

    async def list_source(
        self, source: str, sort: str, descending: bool, limit: int, *,
        offset: int = 0, after: Optional[tuple] = None, folder: Optional[str] = None,
        only_folder: Optional[str] = None,
    ) -> list[FileRow]:
        """One page of a source's files in the order of ``sort`` (a LISTING_SORTS
        key, or a FOLDER_SORTS one with ``only_folder``): from ``offset``, or
        after the ``(value, seq)`` of a previous page; within ``folder`` and
        below, or directly in ``only_folder``."""
        if sort not in (FOLDER_SORTS if only_folder is not None else LISTING_SORTS):
            raise ValueError(f"No index lists a whole source by {sort!r}")
        order = FOLDER_SORTS[sort]
        where = ["source_slug = :source"]
        params = {"source": source, "offset": offset}
        if folder:
            where.append(in_folder_sql())
            params.update(in_folder_params(folder))
        if only_folder is not None:
            where.append("folder = :only_folder")
            params["only_folder"] = only_folder
        if after is None:
            return await self._page(where, params, order, descending, limit)
        # A keyset page: the rest of the cursor's run (NULL values or not),
        # then, if the page is not full, the other run from its start. (A row
        # value compared with NULL is NULL: one condition cannot cross them.)
        value, seq = after
        if value is None and not order.nullable:
            return []  # a crafted cursor: no file has a NULL here
        params.update(after_value=value, after_seq=seq)
        beyond = "<" if descending else ">"
        if value is None:
            first = [f"{order.value} IS NULL", f"seq {beyond} :after_seq"]
        else:
            # The collation on the value, not the column: only so does SQLite
            # seek the index to the cursor instead of scanning up to it.
            first = [f"({order.value}, seq) {beyond} "
                     f"(:after_value {order.collation}, :after_seq)"]
        rows = await self._page(where + first, params, order, descending, limit)
        nulls_follow = descending and value is not None
        non_nulls_follow = not descending and value is None
        if order.nullable and len(rows) < limit and (nulls_follow or non_nulls_follow):
            other = f"{order.value} IS {'' if nulls_follow else 'NOT '}NULL"
            rows += await self._page(where + [other], params, order, descending,
                                     limit - len(rows))
        return rows

    async def _page(self, where: list[str], params: dict, order: ListingSort,
                    descending: bool, limit: int) -> list[FileRow]:
        direction = "DESC" if descending else "ASC"
        order_by = f"ORDER BY {order.order_sql} {direction}, seq {direction}"
        # The page's rows are found in an index alone, then read: an OFFSET of
        # 100,000 then steps over index entries, not over table rows.
        rows = await self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE seq IN ("
            f"SELECT seq FROM datasette_files_files WHERE {' AND '.join(where)} "
            f"{order_by} LIMIT :limit OFFSET :offset) {order_by}", {**params, "limit": limit})
        return [FileRow.from_sql(row) for row in rows]

    async def tree_page(self, source: str, folder: str, allowed: AllowedSQL, limit: int,
                        after: Optional[tuple[str, int]] = None) -> list[FileRow]:
        """One page of the files in ``folder`` and below (the whole source for
        ''), that ``allowed`` lets the actor browse, in (folder, seq) order:
        the first, or those after the ``(folder, seq)`` of the previous page's
        last file. Keyset pages walk the (source_slug, folder) index, so a tree
        of a million files is read a page at a time at the same cost each."""
        where = ["source_slug = :df_source",
                 "source_slug IN (SELECT parent FROM allowed_sources)"]
        params = {**allowed.params, "df_source": source, "df_limit": limit}
        if folder:
            # The bounds again as a range the index can seek, so the last page
            # stops at the tree's end instead of scanning the folders after it.
            where += [in_folder_sql(), "folder >= :folder", "folder < :folder || '0'"]
            params.update(in_folder_params(folder))
        if after is not None:
            where.append("(folder, seq) > (:df_after_folder, :df_after_seq)")
            params.update(df_after_folder=after[0], df_after_seq=after[1])
        rows = await self.db.execute(
            f"{allowed.as_cte()} SELECT {FILE_COLUMNS} FROM datasette_files_files "
            f"WHERE {' AND '.join(where)} ORDER BY folder, seq LIMIT :df_limit", params)
        return [FileRow.from_sql(row) for row in rows]

    async def named(self, source: str, folder: str, filename: str,
                    other_than: Optional[str] = None) -> Optional[FileRow]:
        """The file called ``filename`` (ASCII letters in any case) in ``folder``."""
        row = (await self.db.execute(FILE_NAMED_SQL, {
            "source": source, "folder": folder, "name": filename,
            "other_than": other_than})).first()
        return FileRow.from_sql(row) if row else None

    async def count_in_tree_outside(self, source: str, folder: str,
                                    allowed: AllowedSQL) -> int:
        """How many files in ``folder`` and below are not among the (parent,
        child) resources ``allowed`` names."""
        sql = (f"SELECT count(*) FROM datasette_files_files WHERE source_slug = :df_source "
               f"AND {in_folder_sql()} AND id NOT IN (SELECT child FROM ({allowed.sql}) "
               "WHERE parent = :df_source)")
        return (await self.db.execute(
            sql, {**allowed.params, **in_folder_params(folder), "df_source": source})).first()[0]

    async def count_in_source(self, source: str) -> int:
        """How many files ``source`` has (kept by triggers, not counted)."""
        row = (await self.db.execute(
            "SELECT file_count FROM datasette_files_source_counts WHERE source_slug = ?",
            [source])).first()
        return row[0] if row else 0

    async def count_by_source(self) -> dict[str, int]:
        """How many files each source has (kept by triggers, not counted)."""
        rows = await self.db.execute(
            "SELECT source_slug, file_count FROM datasette_files_source_counts")
        return {row[0]: row[1] for row in rows}

    async def beside_in_folder(self, file: FileRow, content_types: frozenset[str], limit: int,
                               span: int) -> tuple[list[FileRow], list[FileRow]]:
        """The files of ``content_types`` directly in ``file``'s folder just before
        and just after it in the folder's default order (newest first): up to
        ``limit`` on each side, nearest first, found among the ``span`` files on
        each side. The (source_slug, folder) index ends in seq, so each side is
        one seek and a walk of at most ``span`` entries, however big the folder."""
        types = sorted(content_types)
        params = {"source": file.source_slug, "folder": file.folder, "seq": file.seq,
                  "span": span, "limit": limit, **{f"type{n}": t for n, t in enumerate(types)}}
        in_types = ", ".join(f":type{n}" for n in range(len(types)))

        async def side(newer: bool) -> list[FileRow]:
            compare, direction = (">", "ASC") if newer else ("<", "DESC")
            rows = await self.db.execute(
                f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE seq IN ("
                "SELECT seq FROM datasette_files_files WHERE source_slug = :source "
                f"AND folder = :folder AND seq {compare} :seq ORDER BY seq {direction} "
                f"LIMIT :span) AND content_type IN ({in_types}) "
                f"ORDER BY seq {direction} LIMIT :limit", params)
            return [FileRow.from_sql(row) for row in rows]

        return await side(True), await side(False)
