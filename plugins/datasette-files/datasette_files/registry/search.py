"""Full-text search over the files an actor may browse, one page at a time."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Optional

from datasette.database import QueryInterrupted

from ..naming import FILE_ID_PATTERN
from ..parsing import whole_number
from .files import AllowedSQL, in_folder_params, in_folder_sql
from .rows import FileRow, file_columns

# Beyond this many matches a count is reported as "at least" this many: counting
# every match of a common term in a large registry would make each search slow.
COUNT_CAP = 10_000
# Up to this many matches are ranked by relevance; more are shown newest first
# (ranking ten thousand matches is slow and tells little).
RANK_CAP = 1_000
SORTS = ("relevance", "newest")
# Each word is a term (or a range of terms) FTS5 looks up and intersects: the
# work of a query grows with its words, so a query has at most this many.
MAX_QUERY_WORDS = 32
MAX_QUERY_CHARS = 512
# A query that is exactly a file id finds that file (ids are stored lowercase).
_FILE_ID_QUERY = re.compile(f"^{FILE_ID_PATTERN}$", re.IGNORECASE)
# Control characters end a string in SQLite's C API (NUL) or are never indexed.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class InvalidCursor(ValueError):
    """A ``next`` cursor that no page of this search gave out."""


class InvalidQuery(ValueError):
    """Search text over the limits on its length or number of words."""


class SearchTimedOut(Exception):
    """A search ran out of its SQL time limit."""


@dataclass
class SearchPage:
    files: list[FileRow]
    total: int
    total_is_capped: bool
    next_cursor: Optional[str]
    sort: str


class FileSearch:
    """Queries over the files table and its full-text index."""

    def __init__(self, db, time_limit_ms: Optional[int] = None):
        self.db = db
        # At most Datasette's sql_time_limit_ms (a longer one is ignored).
        self.time_limit_ms = time_limit_ms
        # Datasette's SQL threads serve every database: searches leave one free,
        # so a burst of slow searches queues here instead of stalling everyone.
        self.running = asyncio.Semaphore(max(1, (db.ds.setting("num_sql_threads") or 1) - 1))

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
        ``sort`` picks one explicitly (relevance only up to RANK_CAP matches,
        like the rank query's cost). Newest-first pages use a keyset cursor,
        so deep pages cost the same as the first. Raises InvalidCursor,
        InvalidQuery, and SearchTimedOut when a query runs out of its time limit.
        """
        async with self.running:
            try:
                return await self._search(allowed, query, source, cursor, limit, sort, folder)
            except QueryInterrupted:
                raise SearchTimedOut(
                    "The search took too long and was stopped: try more specific words, "
                    "or try again later") from None

    async def _search(self, allowed: AllowedSQL, query: str, source: Optional[str],
                      cursor: Optional[str], limit: int, sort: Optional[str],
                      folder: Optional[str]) -> SearchPage:
        fts_query = to_fts_query(query)
        params: dict[str, Any] = dict(allowed.params)
        # With a query the full-text index drives: it yields matches in rowid
        # (= seq) order, so newest-first pages and capped counts stop early.
        if _FILE_ID_QUERY.match(query.strip()):
            fts_query = ""
            tables, where, order_key = "datasette_files_files f", ["f.id = :df_id"], "f.seq"
            params["df_id"] = query.strip().lower()
        elif fts_query:
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
        total = (await self._execute(
            f"""{allowed.as_cte()} SELECT count(*) FROM (
                SELECT 1 FROM {tables} WHERE {' AND '.join(where)} LIMIT {COUNT_CAP + 1})""",
            params)).first()[0]
        if cursor and sort is None:
            sort = "relevance" if cursor.startswith("o") else "newest"
        if sort not in SORTS or not fts_query or total > RANK_CAP:
            sort = "relevance" if fts_query and total <= RANK_CAP else "newest"

        if sort == "relevance":
            offset = _parse_cursor(cursor, "o", maximum=RANK_CAP)
            order = f"datasette_files_fts.rank, {order_key} DESC"
            page = f"LIMIT :df_limit OFFSET {offset}"
        else:
            before = _parse_cursor(cursor, "s")
            if before:
                where.append(f"{order_key} < :df_before")
                params["df_before"] = before
            order, page = f"{order_key} DESC", "LIMIT :df_limit"
        params["df_limit"] = limit + 1
        rows = [FileRow.from_sql(row) for row in await self._execute(
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

    async def allowed_slugs(self, allowed: AllowedSQL) -> set[str]:
        """The slugs ``allowed`` names: one query, where asking Datasette about
        each source would be one per source."""
        rows = await self._execute(f"{allowed.as_cte()} SELECT parent FROM allowed_sources",
                                   dict(allowed.params))
        return {row[0] for row in rows}

    async def _execute(self, sql: str, params: dict):
        return await self.db.execute(sql, params, custom_time_limit=self.time_limit_ms)


def to_fts_query(query: str) -> str:
    """Free text as a safe FTS5 query: every word must match, as a prefix.

    Each word is quoted, so FTS5 syntax in user input (quotes, NEAR, column
    filters, parentheses) is searched for literally instead of raising errors.
    A word of one character matches that whole word only: as a prefix it would
    match a large part of the index, which has no one-character prefix index.
    Raises InvalidQuery over MAX_QUERY_CHARS or MAX_QUERY_WORDS.
    """
    query = query or ""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"Search text is {len(query)} characters long; "
                           f"at most {MAX_QUERY_CHARS} are allowed")
    words = [w for w in _CONTROL_CHARACTERS.sub(" ", query).split() if w.strip('"')]
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidQuery(f"Search text has {len(words)} words; "
                           f"at most {MAX_QUERY_WORDS} are allowed")
    return " ".join('"{}"{}'.format(w.replace('"', '""'), "*" if len(w) > 1 else "")
                    for w in words)


def _parse_cursor(cursor: Optional[str], kind: str, maximum: Optional[int] = None) -> int:
    if not cursor:
        return 0
    number = whole_number(cursor[1:]) if cursor[0] == kind else None
    if number is None or (maximum is not None and number > maximum):
        raise InvalidCursor("Invalid cursor: use the 'next' value of a previous page")
    return number
