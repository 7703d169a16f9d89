"""Search over the files an actor may browse, one page at a time, fast at any size.

The plan depends on how many files each part of a search leaves, which is
cheap to ask of the indexes (counts stop at a cap):

- few matches of the words (at most CANDIDATE_CAP), or a filter that leaves
  few files: those candidates are checked against everything else and sorted;
- otherwise the index of the sort order is walked, checking each file, until
  the page is full. Relevance over many matches walks the full-text index
  instead: files matching every word first, then those matching some, each
  most recently added first (ranking tens of thousands of matches by score
  is slow and tells little).

Totals are exact up to COUNT_CAP. When a walk cannot count its matches
cheaply, the total is an estimate from the first SCAN_BUDGET files, marked
as capped ("at least").
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from datasette.database import QueryInterrupted

from ..files import AllowedSQL
from ..rows import FileRow, file_columns
from .cursors import Cursor, InvalidCursor
from .filters import SearchFilters
from .orders import ORDERS, SORTS, Order, key_value
from .segments import Segment
from .text import MAX_TEXT_READ, SearchText, TextMatch, match_of

# Beyond this many matches a total is reported as "at least" this many.
COUNT_CAP = 10_000
# Up to this many matches are ranked by score (words matched, then bm25).
RANK_CAP = 1_000
# Up to this many candidates are sorted in memory; more are walked in order.
CANDIDATE_CAP = 10_000
# A filter this narrow drives a search for words that match many files: each
# candidate's words are checked through the full-text index, which costs more.
WORD_CHECK_CAP = 500
# What checking one file's words costs, in rows read from a list of candidates.
WORD_CHECK_COST = 10
# The "some of the words" tier reads matches in batches of this many, at most
# this many batches for a page.
TIER_BATCH = 100
TIER_BATCHES = 40
# Dates or a folder holding at most this many files bound a walk by seq.
BOUNDED_FILES = 200_000
# A walk's estimate scales its sample to at most this many files of a filter.
ESTIMATE_CAP = 100_000
# How many files a walk reads to estimate its total.
SCAN_BUDGET = 1_000
FTS = "datasette_files_fts"
NAMES = "datasette_files_names"
FILES = "datasette_files_files"
# Column weights of bm25 (filename, content_type, search_text, folder): a
# word in the name counts most.
BM25 = f"bm25({FTS}, 10.0, 1.0, 2.0, 4.0)"


class SearchTimedOut(Exception):
    """A search ran out of its SQL time limit."""


@dataclass
class SearchPage:
    files: list[FileRow]
    total: int
    total_is_capped: bool
    next_cursor: Optional[str]
    sort: str
    previous_cursor: Optional[str] = None
    page: int = 1
    pages: int = 1
    pages_is_capped: bool = False
    # File id -> {"field", "snippet_html"}: where the words matched, when it
    # was the search text or a folder name.
    matches: dict = field(default_factory=dict)


@dataclass
class _Driver:
    """A filter's index, and how many files it leaves (at most the cap + 1)."""

    index: str
    condition: str
    count: int


class FileSearch:
    """Queries over the files table, its full-text and trigram indexes."""

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
        filters: Optional[SearchFilters] = None,
        source: Optional[str] = None,
        folder: Optional[str] = None,
        cursor: Optional[str] = None,
        limit: int = 50,
        sort: Optional[str] = None,
    ) -> SearchPage:
        """One page of the files matching ``query`` and ``filters`` in the
        sources ``allowed`` names, in ``sort`` order (relevance with a query,
        newest without). ``source`` and ``folder`` are shorthands for filters.
        Raises InvalidCursor, InvalidQuery, and SearchTimedOut when the SQL
        runs out of its time limit."""
        filters = filters or SearchFilters()
        if source is not None or folder is not None:
            filters = dataclasses.replace(filters, source=source or filters.source,
                                          folder=folder or filters.folder)
        text = SearchText.parse(query)
        async with self.running:
            try:
                return await _Run(self, allowed, text, filters, limit).page(
                    sort, Cursor.decode(cursor))
            except QueryInterrupted:
                raise SearchTimedOut(
                    "The search took too long and was stopped: try more specific words "
                    "or fewer filters, or try again later") from None

    async def allowed_slugs(self, allowed: AllowedSQL) -> set[str]:
        """The slugs ``allowed`` names: one query, where asking Datasette about
        each source would be one per source. Within Datasette's time limit, not
        the searches' (on a busy machine a 10 ms limit stopped it, and a page
        answered 500); SearchTimedOut if it runs out."""
        try:
            rows = await self.db.execute(
                f"{allowed.as_cte()} SELECT parent FROM allowed_sources", dict(allowed.params))
        except QueryInterrupted:
            raise SearchTimedOut("Finding the sources you may see took too long: "
                                 "try again later") from None
        return {row[0] for row in rows}

    async def execute(self, sql: str, params: dict):
        return await self.db.execute(sql, params, custom_time_limit=self.time_limit_ms)


class _Run:
    """One search: its conditions, and the queries that answer it."""

    def __init__(self, search: FileSearch, allowed: AllowedSQL, text: SearchText,
                 filters: SearchFilters, limit: int):
        self.search = search
        self.allowed = allowed
        self.text = text
        self.filters = filters
        self.limit = limit
        self.params: dict[str, Any] = dict(allowed.params)
        # The unary + keeps the planner off the source indexes for this test:
        # each plan below picks its index itself.
        self.where = ["+f.source_slug IN (SELECT parent FROM allowed_sources)",
                      *filters.predicates(self.params)]
        # The seqs the words match, when few enough to list (set by page()).
        self.matched: Optional[list[int]] = None
        if text.words:
            self.params["df_any"] = text.any_word()
            self.params["df_every"] = text.every_word()
            if text.substrings:
                self.params["df_substrings"] = text.any_substring()

    async def rows(self, sql: str, params: Optional[dict] = None) -> list:
        return list(await self.search.execute(f"{self.allowed.as_cte()} {sql}",
                                              params or self.params))

    async def count(self, sql: str) -> int:
        return (await self.rows(sql))[0][0]

    # The plan.

    async def page(self, sort: Optional[str], cursor: Optional[Cursor]) -> SearchPage:
        if sort not in SORTS:
            sort = "relevance" if self.text.words else "newest"
        if sort == "relevance" and not self.text.words:
            sort = "newest"
        if self.text.file_id:
            return await self._by_id(sort)
        drivers = await self._drivers()
        narrowest = min(drivers, key=lambda d: d.count) if drivers else None
        if self.text.words:
            matches = self.matched = await self._matches()
            if matches is not None and narrowest and \
                    narrowest.count * WORD_CHECK_COST < len(matches):
                matches = None  # the filter leaves far fewer files than the words
            if matches is not None:
                if sort == "relevance" and len(matches) <= RANK_CAP:
                    return await self._ranked(self._candidates(matches), cursor)
                if sort != "relevance":
                    return await self._sorted(sort, self._candidates(matches), cursor)
            elif narrowest and narrowest.count <= WORD_CHECK_CAP:
                candidates = self._driven_by(narrowest, word_check=True)
                if sort == "relevance":
                    return await self._ranked(candidates, cursor, with_scores=False)
                return await self._sorted(sort, candidates, cursor)
            if sort == "relevance":
                return await self._tiers(cursor)
            return await self._walk(sort, cursor, word_check=True)
        if narrowest and narrowest.count <= CANDIDATE_CAP:
            return await self._sorted(sort, self._driven_by(narrowest), cursor)
        return await self._walk(sort, cursor, word_check=False, narrowest=narrowest,
                                counted=narrowest if len(drivers) == 1 else None)

    async def _drivers(self) -> list[_Driver]:
        """The filters that have an index, with how many files each leaves."""
        filters, found = self.filters, []
        candidates = []
        if filters.source and filters.folder:
            candidates.append((
                "datasette_files_files_folder_name",
                "f.source_slug = :df_source AND f.folder >= :df_folder "
                "AND f.folder < :df_folder || '0'"))
        if filters.kinds:
            index, condition = "datasette_files_files_kind", "f.kind IN ({})"
            if filters.source:
                index = "datasette_files_files_source_kind"
                condition = "f.source_slug = :df_source AND " + condition
            names = ", ".join(f":df_kind{i}" for i in range(len(filters.kinds)))
            candidates.append((index, condition.format(names)))
        if filters.uploader is not None:
            candidates.append(("datasette_files_files_uploaded_by",
                               "f.uploaded_by = :df_uploader"))
        if filters.since or filters.until:
            bounds = [c for c, on in (("f.created_at >= :df_since", filters.since),
                                      ("f.created_at < :df_until", filters.until)) if on]
            index = "datasette_files_files_created"
            if filters.source:
                index = "datasette_files_files_source_created"
                bounds.insert(0, "f.source_slug = :df_source")
            candidates.append((index, " AND ".join(bounds)))
        if filters.min_size is not None or filters.max_size is not None:
            bounds = [c for c, on in (
                ("f.size >= :df_min_size", filters.min_size is not None),
                ("f.size <= :df_max_size", filters.max_size is not None)) if on]
            index = "datasette_files_files_size"
            if filters.source:
                index = "datasette_files_files_source_size"
                bounds.insert(0, "f.source_slug = :df_source")
            candidates.append((index, " AND ".join(bounds)))
        for index, condition in candidates:
            count = await self.count(
                f"SELECT count(*) FROM (SELECT 1 FROM {FILES} f INDEXED BY {index} "
                f"WHERE {condition} LIMIT {CANDIDATE_CAP + 1})")
            found.append(_Driver(index, condition, count))
        return found

    async def _matches(self) -> Optional[list[int]]:
        """The seqs of the files the words match (newest first), or None when
        there are more than CANDIDATE_CAP."""
        sources = [(FTS, "df_any")]
        if self.text.substrings:
            sources.append((NAMES, "df_substrings"))
        for table, param in sources:
            count = await self.count(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH :{param} "
                f"LIMIT {CANDIDATE_CAP + 1})")
            if count > CANDIDATE_CAP:
                return None
        seqs: set[int] = set()
        for table, param in sources:
            seqs.update(row[0] for row in await self.rows(
                f"SELECT rowid FROM {table} WHERE {table} MATCH :{param}"))
        if len(seqs) > CANDIDATE_CAP:
            return None
        return sorted(seqs, reverse=True)

    def _word_check(self, seq: str = "f.seq") -> str:
        """SQL: the file's name contains a long word, or the full-text index
        has one of the words for it. The name is the cheap test, so it comes
        first; one lookup per word costs less than one of all words at once."""
        checks = []
        for i, pattern in enumerate(self.text.like_patterns()):
            self.params[f"df_like{i}"] = pattern
            checks.append(f"f.filename LIKE :df_like{i} ESCAPE '\\'")
        for i, (term, hint) in enumerate(zip(self.text.word_terms(), self.text.word_hints())):
            self.params[f"df_word{i}"] = term
            lookup = (f"EXISTS (SELECT 1 FROM {FTS} WHERE {FTS} MATCH :df_word{i} "
                      f"AND {FTS}.rowid = {seq})")
            if hint is not None:
                # A lookup costs 0.02 to 0.2 ms: first, whether the word is in
                # the file's text at all. Only ASCII text can be ruled out so:
                # in other text, "bud" may be "Büd", which the index folds.
                self.params[f"df_hint{i}"] = hint
                text = "(f.filename || ' ' || f.search_text || ' ' || f.folder || ' ' || " \
                       "ifnull(f.content_type, ''))"
                lookup = (f"(({text} LIKE :df_hint{i} ESCAPE '\\' OR {text} GLOB '*[^ -~]*') "
                          f"AND {lookup})")
            checks.append(lookup)
        return "(" + " OR ".join(checks) + ")"

    # Candidate plans: few files, checked and sorted in memory.

    def _candidates(self, seqs: list[int]) -> "_SegmentSQL":
        self.params["df_seqs"] = json.dumps(seqs)
        where = " AND ".join(self.where)
        return _SegmentSQL(
            f"FROM json_each(:df_seqs) AS m CROSS JOIN {FILES} f ON f.seq = m.value "
            f"WHERE {where}")

    def _driven_by(self, driver: _Driver, word_check: bool = False) -> "_SegmentSQL":
        where = [driver.condition, *self.where]
        if word_check:
            where.append(self._word_check())
        return _SegmentSQL(f"FROM {FILES} f INDEXED BY {driver.index} "
                           f"WHERE {' AND '.join(where)}")

    async def _sorted(self, sort: str, candidates: "_SegmentSQL", cursor) -> SearchPage:
        segments = _ordered_segments(ORDERS[sort], candidates.body)
        total, capped = await self._counted(candidates)
        return await self._keyset_page(sort, segments, cursor, total, capped)

    async def _counted(self, candidates: "_SegmentSQL") -> tuple[int, bool]:
        total = await self.count(f"SELECT count(*) FROM (SELECT 1 {candidates.body} "
                                 f"LIMIT {COUNT_CAP + 1})")
        return total, total > COUNT_CAP

    # Walks: many candidates, read in the order of an index.

    async def _walk(self, sort: str, cursor, word_check: bool,
                    narrowest: Optional[_Driver] = None,
                    counted: Optional[_Driver] = None) -> SearchPage:
        """``narrowest``: the filter with an index that leaves fewest files;
        ``counted``: that filter when it is the only one."""
        order = ORDERS[sort]
        where = list(self.where)
        slugs = [self.filters.source] if self.filters.source else \
            sorted(await self.search.allowed_slugs(self.allowed))
        if len(slugs) == 1:
            index = order.source_index
            self.params["df_walk_source"] = slugs[0]
            where.insert(0, "f.source_slug = :df_walk_source")
        else:
            index = order.index
        if word_check:
            where.append(self._word_check())
        segments = _ordered_segments(
            order, f"FROM {FILES} f INDEXED BY {index} WHERE {' AND '.join(where)}")
        if not word_check and not self.filters.narrowing:
            # Every file of the sources: counted in the source index alone,
            # which seeks each source (no unary + here).
            counted = " AND ".join(self.where).replace("+f.source_slug", "f.source_slug", 1)
            total = await self.count(
                f"SELECT count(*) FROM (SELECT 1 FROM {FILES} f INDEXED BY "
                f"datasette_files_files_source_seq WHERE {counted} LIMIT {COUNT_CAP + 1})")
            return await self._keyset_page(sort, segments, cursor, total, total > COUNT_CAP)
        # With words, their matches are what to count (checking each file's
        # words would cost more); without, the walk's own index.
        if word_check:
            total, capped = await self._matches_total()
        elif counted is not None and self.filters.source and slugs == [self.filters.source] \
                and "f.source_slug = :df_source" in counted.condition \
                and self.filters.source in await self.search.allowed_slugs(self.allowed):
            # The only filter, counted within the one source asked for (and
            # browsable: a count of another source would tell of its files).
            total, capped = counted.count, counted.count > COUNT_CAP
        elif narrowest is not None:
            # A sample of the narrowest filter's files, scaled to how many it
            # leaves (a sample of the walk's order could miss them all: a
            # date range far from the newest files).
            if narrowest.index == "datasette_files_files_folder_name":
                # A folder's files and its subfolders' are counted already.
                size = await self.count(
                    "SELECT ifnull(sum(file_count), 0) FROM datasette_files_folders "
                    "WHERE source_slug = :df_source AND (path = :df_folder "
                    "OR (path > :df_folder || '/' AND path < :df_folder || '0'))")
            else:
                size = await self.count(
                    f"SELECT count(*) FROM (SELECT 1 FROM {FILES} f INDEXED BY "
                    f"{narrowest.index} WHERE {narrowest.condition} LIMIT {ESTIMATE_CAP})")
            total, capped = await self._estimate(
                f"SELECT f.seq AS seq FROM {FILES} f INDEXED BY {narrowest.index} "
                f"WHERE {narrowest.condition}", size)
        else:
            total, capped = await self._estimate(
                f"SELECT f.seq AS seq FROM {FILES} f INDEXED BY {index} "
                f"WHERE {where[0] if len(slugs) == 1 else '1'} ORDER BY {order.key}, f.seq",
                await self._file_count(slugs))
        return await self._keyset_page(sort, segments, cursor, total, capped)

    async def _file_count(self, slugs: list[str]) -> int:
        """How many files these sources hold (kept by triggers, read at once)."""
        self.params["df_count_slugs"] = json.dumps(slugs)
        return await self.count(
            "SELECT ifnull(sum(file_count), 0) FROM datasette_files_source_counts "
            "WHERE source_slug IN (SELECT value FROM json_each(:df_count_slugs))")

    async def _tiers(self, cursor) -> SearchPage:
        """Relevance over many matches. With one word: every match, most
        recently added first. With more: the files with every word (as word
        prefixes) first, then those with some, each most recently added first;
        a page of the second looks through at most TIER_BATCHES batches of
        matches and, when nearly every match has every word, may come back
        short, with a cursor to go on from where it stopped."""
        where = " AND ".join(self.where)
        columns = file_columns("f")
        arms = [f"SELECT rowid AS seq FROM {FTS} WHERE {FTS} MATCH :df_any {{c}}"]
        if self.text.substrings:
            arms.append(f"SELECT rowid AS seq FROM {NAMES} WHERE {NAMES} MATCH "
                        ":df_substrings {c}")
        several = len(self.text.words) > 1
        # Dates and folders go with the order files were added in: bounds on
        # seq let each index seek to the stretch that holds them, where a walk
        # from the newest would read past everything added since.
        bounds = await self._seq_bounds()
        if bounds:
            self.params["df_seq_low"], self.params["df_seq_high"] = bounds
            within = "AND rowid BETWEEN :df_seq_low AND :df_seq_high"
            arms = [arm.replace(" {c}", f" {within} {{c}}") for arm in arms]
        else:
            within = ""

        def any_word(condition: str, by: str) -> str:
            # The position's condition goes into each arm, so each index seeks
            # to it; the union merges the arms in order. A LIMIT (-1: none)
            # keeps SQLite from dropping the subquery's ORDER BY, and there is
            # none outside: sorting the rows again would read them all first.
            inner = condition.replace("m.seq", "rowid")
            union = " UNION ".join(arm.format(c=inner) for arm in arms)
            return (f"SELECT {columns} FROM ({union} ORDER BY 1 {by.split()[-1]} LIMIT -1) "
                    f"AS m CROSS JOIN {FILES} f ON f.seq = m.seq WHERE {where}")

        async def some_words(after: Optional[list], backwards: bool, want: int):
            """The files with some of the words but not all, in batches: the
            ones with every word are found per batch, in one lookup of the
            batch's range of seqs (a check per file cost ~0.1 ms each)."""
            position = after[0] if after else None
            found: list[FileRow] = []
            for _ in range(TIER_BATCHES):
                params = dict(self.params, df_position=position)
                condition = "" if position is None else \
                    f"AND m.seq {'>' if backwards else '<'} :df_position"
                seqs = [row[0] for row in await self.rows(
                    f"SELECT seq FROM ({any_word(condition, 'm.seq ' + ('ASC' if backwards else 'DESC'))}) "
                    f"LIMIT {TIER_BATCH}", params)]
                if not seqs:
                    return found, None
                params.update(df_low=min(seqs), df_high=max(seqs))
                every = {row[0] for row in await self.rows(
                    f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH :df_every "
                    "AND rowid BETWEEN :df_low AND :df_high", params)}
                keep = [seq for seq in seqs if seq not in every][:want - len(found)]
                if keep:
                    params["df_keep"] = json.dumps(keep)
                    by_seq = {row[0]: FileRow.from_sql(row) for row in await self.rows(
                        f"SELECT {columns} FROM {FILES} f "
                        "WHERE f.seq IN (SELECT value FROM json_each(:df_keep))", params)}
                    found.extend(by_seq[seq] for seq in keep if seq in by_seq)
                if len(found) >= want or len(seqs) < TIER_BATCH:
                    return found, None
                position = seqs[-1]
            return found, [position]  # looked through enough for one page: go on from here

        if several:
            segments = [
                Segment([f"{FTS}.rowid"], True,
                        lambda condition, by: f"SELECT {columns} FROM {FTS} CROSS JOIN {FILES} f "
                                              f"ON f.seq = {FTS}.rowid WHERE {FTS} MATCH :df_every "
                                              f"{within.replace('rowid', FTS + '.rowid')} "
                                              f"AND {where} {condition} ORDER BY {by}"),
                Segment(["m.seq"], True, any_word, fetch=some_words),
            ]
        else:
            segments = [Segment(["m.seq"], True, any_word)]
        total, capped = await self._matches_total(within)
        return await self._keyset_page("relevance", segments, cursor, total, capped)

    async def _seq_bounds(self) -> Optional[tuple[int, int]]:
        """The lowest and highest seq of the files in the date range and the
        folder, when these leave at most BOUNDED_FILES files."""
        filters, bounds = self.filters, []
        if filters.since or filters.until:
            conditions = [c for c, on in (("f.created_at >= :df_since", filters.since),
                                          ("f.created_at < :df_until", filters.until)) if on]
            bounds.append(("datasette_files_files_created", " AND ".join(conditions)))
        if filters.source and filters.folder:
            bounds.append(("datasette_files_files_folder_name",
                           "f.source_slug = :df_source AND f.folder >= :df_folder "
                           "AND f.folder < :df_folder || '0'"))
        low, high = None, None
        for index, condition in bounds:
            count, first, last = (await self.rows(
                f"SELECT count(*), min(seq), max(seq) FROM (SELECT f.seq AS seq FROM {FILES} f "
                f"INDEXED BY {index} WHERE {condition} LIMIT {BOUNDED_FILES + 1})"))[0]
            if count > BOUNDED_FILES:
                continue
            if not count:
                return (1, 0)  # nothing: an empty range
            low = first if low is None else max(low, first)
            high = last if high is None else min(high, last)
        return None if low is None else (low, high)

    async def _estimate(self, stream: str, size: Optional[int] = None) -> tuple[int, bool]:
        """The total of a walk: how many of the first SCAN_BUDGET files of
        ``stream`` (SQL returning a ``seq`` column) pass the filters. Exact when
        the stream ends sooner. Otherwise the share that passed, of the
        stream's ``size`` when known, else of CANDIDATE_CAP + 1 (a walked
        stream holds more than CANDIDATE_CAP files), marked capped."""
        where = " AND ".join(self.where)
        scanned, found = (await self.rows(
            f"SELECT count(*), ifnull(sum({where}), 0) FROM ({stream} LIMIT {SCAN_BUDGET}) AS d "
            f"CROSS JOIN {FILES} f ON f.seq = d.seq"))[0]
        if scanned < SCAN_BUDGET:
            return found, False
        return max(found, round(found * (size or CANDIDATE_CAP + 1) / scanned)), True

    async def _matches_total(self, within: str = "") -> tuple[int, bool]:
        """How many files the words match and the filters keep: counted when
        the matches were listed (an estimate would extrapolate past them),
        else estimated from their stream."""
        if self.matched is not None:
            return await self._counted(self._candidates(self.matched))
        return await self._estimate(self._matches_stream(within))

    def _matches_stream(self, within: str = "") -> str:
        """SQL: the seqs of the files the words match, most recently added
        first (``within``: a condition on their rowid)."""
        arms = [f"SELECT rowid AS seq FROM {FTS} WHERE {FTS} MATCH :df_any {within}"]
        if self.text.substrings:
            arms.append(f"SELECT rowid AS seq FROM {NAMES} WHERE {NAMES} MATCH :df_substrings "
                        f"{within}")
        return " UNION ".join(arms) + " ORDER BY 1 DESC"

    # Pages.

    async def _keyset_page(self, sort: str, segments: list[Segment], cursor: Optional[Cursor],
                           total: int, capped: bool) -> SearchPage:
        if cursor is not None and cursor.ranked:
            raise InvalidCursor("That cursor belongs to a different sort order")
        backwards = bool(cursor and cursor.backwards)
        start_segment, after = 0, None
        if cursor is not None:
            start_segment, after = cursor.position[0], list(cursor.position[1:])
            if start_segment >= len(segments) or len(after) != len(segments[start_segment].keys):
                raise InvalidCursor("That cursor belongs to a different search")
        rows: list[tuple[int, FileRow]] = []
        stopped = None  # where a segment stopped reading short of a full page
        numbers = range(start_segment, -1, -1) if backwards else \
            range(start_segment, len(segments))
        for number in numbers:
            segment, want = segments[number], self.limit + 1 - len(rows)
            if segment.fetch is not None:
                found, resume = await segment.fetch(after, backwards, want)
            else:
                params = dict(self.params, df_limit=want)
                sql = segment.query(after, backwards, params) + " LIMIT :df_limit"
                found, resume = [FileRow.from_sql(row) for row in await self.rows(sql, params)], None
            rows.extend((number, row) for row in found)
            if len(rows) > self.limit:
                break
            if resume is not None:
                stopped = (number, *resume)
                break
            after = None
        more = len(rows) > self.limit
        rows = rows[:self.limit]
        if backwards:
            rows.reverse()
        page = cursor.page if cursor else 1
        if backwards and not more and not stopped:
            page = 1  # nothing before these: the first page, whatever the cursor said
        positions = [self._position(sort, number, row) for number, row in rows]
        # Forwards, the page after is there if rows were left over, or reading
        # stopped short; backwards, the page this came from is after it.
        first = positions[0] if positions else (cursor.position if cursor else None)
        last = positions[-1] if positions else (cursor.position if cursor else None)
        if backwards:
            next_position = last
            previous_position = stopped if stopped and not more else first
            has_previous = page > 1 and (more or stopped is not None)
        else:
            next_position = stopped if stopped and not more else last
            previous_position = first
            has_previous = page > 1
        has_next = backwards or more or stopped is not None
        next_cursor = Cursor(page + 1, next_position).encode() \
            if has_next and next_position is not None else None
        previous_cursor = Cursor(page - 1, previous_position, backwards=True).encode() \
            if has_previous and previous_position is not None else None
        return self._page(sort, [row for _, row in rows], total, capped, page,
                          next_cursor, previous_cursor)

    def _position(self, sort: str, segment: int, row: FileRow) -> tuple:
        value = None if sort == "relevance" else key_value(ORDERS[sort], row)
        if value is None:  # relevance, or a NULL in its own segment
            return (segment, row.seq)
        return (segment, value, row.seq)

    async def _ranked(self, candidates: "_SegmentSQL", cursor: Optional[Cursor],
                      with_scores: bool = True) -> SearchPage:
        """Rank up to RANK_CAP files: most words matched, then bm25 (when the
        words match few files: the scores come from all of them), then newest.
        Ranking reads only what it needs (the start of each search text: a
        thousand texts of 100,000 characters would be 100 MB per search); the
        page's files are read whole."""
        if cursor is not None and not cursor.ranked:
            raise InvalidCursor("That cursor belongs to a different sort order")
        rows = await self.rows(
            f"SELECT f.seq, f.filename, substr(f.search_text, 1, {MAX_TEXT_READ}), f.folder, "
            f"f.content_type {candidates.body} LIMIT {RANK_CAP}")
        scores = {}
        if rows and with_scores:
            scores = dict(await self.rows(
                f"SELECT rowid, {BM25} FROM {FTS} WHERE {FTS} MATCH :df_any"))
        matched = {seq: match_of(self.text, name, text, folder, content_type).words
                   for seq, name, text, folder, content_type in rows}
        ranked = sorted(matched, key=lambda seq: (-matched[seq], scores.get(seq, 0.0), -seq))
        offset = cursor.position[0] if cursor else 0
        page = cursor.page if cursor else 1
        shown = ranked[offset:offset + self.limit]
        self.params["df_shown"] = json.dumps(shown)
        by_seq = {row[0]: FileRow.from_sql(row) for row in await self.rows(
            f"SELECT {file_columns('f')} FROM {FILES} f "
            "WHERE f.seq IN (SELECT value FROM json_each(:df_shown))")}
        next_cursor = Cursor(page + 1, (offset + self.limit,), ranked=True).encode() \
            if offset + self.limit < len(ranked) else None
        previous_cursor = Cursor(page - 1, (max(0, offset - self.limit),), ranked=True).encode() \
            if offset > 0 else None
        return self._page("relevance", [by_seq[seq] for seq in shown if seq in by_seq],
                          len(ranked), False, page, next_cursor, previous_cursor)

    async def _by_id(self, sort: str) -> SearchPage:
        self.params["df_id"] = self.text.file_id
        rows = await self.rows(f"SELECT {file_columns('f')} FROM {FILES} f "
                               f"WHERE f.id = :df_id AND {' AND '.join(self.where)}")
        files = [FileRow.from_sql(row) for row in rows]
        return self._page(sort, files, len(files), False, 1, None, None)

    def _match(self, file: FileRow) -> TextMatch:
        return match_of(self.text, file.filename, file.search_text, file.folder,
                        file.content_type)

    def _page(self, sort: str, files: list[FileRow], total: int, capped: bool, page: int,
              next_cursor: Optional[str], previous_cursor: Optional[str]) -> SearchPage:
        total = min(total, COUNT_CAP)
        matches = {}
        if self.text.words:
            for file in files:
                match = self._match(file)
                if match.field:
                    matches[file.id] = {"field": match.field,
                                        "snippet_html": match.snippet_html}
        pages = max(1, -(-total // self.limit))
        return SearchPage(files=files, total=total, total_is_capped=capped,
                          next_cursor=next_cursor, previous_cursor=previous_cursor,
                          sort=sort, page=page, pages=max(pages, page),
                          pages_is_capped=capped, matches=matches)


@dataclass
class _SegmentSQL:
    """The FROM and WHERE of a set of candidates."""

    body: str


def _ordered_segments(order: Order, body: str) -> list[Segment]:
    """The rows of ``body`` (a FROM ... WHERE clause over ``f``) in ``order``:
    one segment, or for a column that may be NULL, the rows with a value then
    the rows without (a keyset on a NULL compares as nothing)."""
    columns = file_columns("f")
    if not order.nullable:
        return [Segment([order.column, "f.seq"], order.descending,
                        lambda condition, by: f"SELECT {columns} {body} {condition} ORDER BY {by}",
                        [order.collation, ""])]
    return [
        Segment([order.column, "f.seq"], order.descending,
                lambda condition, by: f"SELECT {columns} {body} AND {order.column} IS NOT NULL "
                                      f"{condition} ORDER BY {by}"),
        Segment(["f.seq"], order.descending,
                lambda condition, by: f"SELECT {columns} {body} AND {order.column} IS NULL "
                                      f"{condition} ORDER BY {order.column}, {by}"),
    ]
