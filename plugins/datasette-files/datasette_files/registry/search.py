"""Full-text search over the files an actor may browse, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .files import AllowedSQL, in_folder_params, in_folder_sql
from .rows import FileRow, file_columns

# Beyond this many matches a count is reported as "at least" this many: counting
# every match of a common term in a large registry would make each search slow.
COUNT_CAP = 10_000
# Up to this many matches are ranked by relevance; more are shown newest first
# (ranking ten thousand matches is slow and tells little).
RANK_CAP = 1_000
SORTS = ("relevance", "newest")


class InvalidCursor(ValueError):
    """A ``next`` cursor that no page of this search gave out."""


@dataclass
class SearchPage:
    files: list[FileRow]
    total: int
    total_is_capped: bool
    next_cursor: Optional[str]
    sort: str


class FileSearch:
    """Queries over the files table and its full-text index."""

    def __init__(self, db):
        self.db = db

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
        """One page of files matching ``query`` in the sources ``allowed`` names.

        Sorts by relevance when a query matches at most RANK_CAP files and by
        newest first otherwise (ranking every match of a common term is slow);
        ``sort`` picks one explicitly. Newest-first pages use a keyset cursor,
        so deep pages cost the same as the first. Raises InvalidCursor.
        """
        fts_query = to_fts_query(query)
        params: dict[str, Any] = dict(allowed.params)
        # With a query the full-text index drives: it yields matches in rowid
        # (= seq) order, so newest-first pages and capped counts stop early.
        if fts_query:
            tables = ("datasette_files_fts JOIN datasette_files_files f "
                      "ON f.seq = datasette_files_fts.rowid")
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
            where.append(in_folder_sql("f."))
            params.update(in_folder_params(folder))
        total = (await self.db.execute(
            f"""{allowed.as_cte()} SELECT count(*) FROM (
                SELECT 1 FROM {tables} WHERE {' AND '.join(where)} LIMIT {COUNT_CAP + 1})""",
            params)).first()[0]
        if cursor and sort is None:
            sort = "relevance" if cursor.startswith("o") else "newest"
        if sort not in SORTS or not fts_query:
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
        rows = [FileRow.from_sql(row) for row in await self.db.execute(
            f"""{allowed.as_cte()} SELECT {file_columns('f')} FROM {tables}
                WHERE {' AND '.join(where)} ORDER BY {order} {page}""", params)]
        if len(rows) <= limit:
            next_cursor = None
        elif sort == "relevance":
            next_cursor = f"o{offset + limit}"
        else:
            next_cursor = f"s{rows[limit - 1].seq}"
        return SearchPage(files=rows[:limit], total=min(total, COUNT_CAP),
                          total_is_capped=total > COUNT_CAP, next_cursor=next_cursor,
                          sort=sort)


def to_fts_query(query: str) -> str:
    """Free text as a safe FTS5 query: every word must match, as a prefix.

    Each word is quoted, so FTS5 syntax in user input (quotes, NEAR, column
    filters, parentheses) is searched for literally instead of raising errors.
    """
    words = [w for w in (query or "").split() if w.strip('"')]
    return " ".join('"{}"*'.format(w.replace('"', '""')) for w in words)


def _parse_cursor(cursor: Optional[str], kind: str) -> int:
    if not cursor:
        return 0
    if cursor[0] != kind or not cursor[1:].isdigit():
        raise InvalidCursor(f"Invalid cursor {cursor!r}: use the 'next' value of a previous page")
    return int(cursor[1:])
