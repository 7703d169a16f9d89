"""Parsing CSV rows in a worker thread, and the writes that load them into a
new table a batch at a time.

Rows go first into a staging table (every value kept as text) while each
column's type is detected over the whole file; then a hidden table with those
types is filled from it, batch by batch, and finally renamed to the name asked
for, in one short write that also drops the staging table. Should anything
fail, both are dropped: the table asked for is either there and complete, or
not there at all. Each write is a function of a write connection, for
Datasette's write thread (see ``job``).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import sqlite3
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import sqlite_utils

from .detect import ColumnTypes, column_names

BATCH_ROWS = 5000
MAX_FIELD_BYTES = 64 * 1024 * 1024
HIDDEN_PREFIX = "_datasette_files_import_"
# A table or view has this name (SQLite's names ignore case).
NAME_TAKEN_SQL = ("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                  "AND lower(name) = lower(?)")

WriteFn = Callable[[sqlite3.Connection], object]


class ImportAborted(Exception):
    """The import was abandoned (shutdown, or the file could not be read)."""


class TableExists(Exception):
    pass


class NotUTF8(Exception):
    """The bytes are not UTF-8 after all: the caller retries as Latin-1."""


@dataclass
class Progress:
    """Shared between the parsing thread and the job that reports it."""

    bytes_read: int = 0
    rows: int = 0
    ragged_rows: int = 0
    first_ragged_lines: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def parse_csv(chunks: Iterable[bytes], put_batch: Callable[[list], None], encoding: str,
              delimiter: str, has_header: bool, progress: Progress) -> None:
    """Parse the file whose bytes ``chunks`` yields, handing lists of rows (each
    cut or padded to the first row's width) to ``put_batch``; the column names
    are in ``progress.columns`` before the first batch, their types in
    ``progress.types`` once this returns. Blocking: for a worker thread."""
    csv.field_size_limit(MAX_FIELD_BYTES)
    reader = csv.reader(_text_lines(chunks, encoding), delimiter=delimiter)
    first = next(reader, None)
    if first is None:
        raise ValueError("the file is empty: there is no row to import")
    width = len(first)
    progress.columns = column_names(first if has_header else None, width)
    types = ColumnTypes()
    batch = []
    if not has_header:
        types.observe(first)
        batch.append(_fit(first, width, 1, progress))
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        types.observe(row[:width])
        batch.append(_fit(row, width, line_number, progress))
        if len(batch) >= BATCH_ROWS:
            put_batch(batch)
            batch = []
    if batch:
        put_batch(batch)
    progress.types = types.sqlite_types(width)


class StagedTable:
    """The writes that build ``table``: a staging table of text, then a hidden
    table with the detected types, renamed at the end.

    The staging table is a TEMP table of Datasette's write connection for the
    database (all of the job's writes run there, one after another): it costs
    the database no journal, and vanishes should the server stop. The typed
    table is a real one with a hidden name (Datasette hides names starting
    with "_"); one a stopped server left behind is dropped at the next start.
    """

    def __init__(self, import_id: str, table: str):
        base = HIDDEN_PREFIX + import_id.replace("-", "_")
        self.staging = _quote(base + "_text")
        self.typed = base
        self.table = table
        self.width = 0

    def drop_hidden(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"DROP TABLE IF EXISTS temp.{self.staging}")
        _database(conn)[self.typed].drop(ignore=True)

    async def check_name_free(self, db) -> None:
        """TableExists if Datasette database ``db`` has a table or view of this name."""
        if (await db.execute(NAME_TAKEN_SQL, [self.table])).first():
            raise TableExists(self.table)

    def create_staging(self, width: int) -> WriteFn:
        self.width = width
        columns = ", ".join(f"c{i}" for i in range(width))

        def create(conn):
            self.drop_hidden(conn)
            conn.execute(f"CREATE TEMP TABLE {self.staging} ({columns})")

        return create

    def insert(self, rows: list[list[str]]) -> WriteFn:
        sql = f"INSERT INTO temp.{self.staging} VALUES ({', '.join('?' * self.width)})"
        return lambda conn: conn.executemany(sql, rows)

    def create_typed(self, columns: list[str], types: list[str]) -> WriteFn:
        return lambda conn: _database(conn).create_table(self.typed, dict(zip(columns, types)))

    def copy_batch_rows(self) -> int:
        """Rows copied into the typed table per write: about as long a write as
        one batch of parsed rows (copying is cheaper per row than parsing)."""
        return max(1_000, min(20_000, 100_000 // max(self.width, 1)))

    def copy_typed(self, columns: list[str], first_row: int, count: int) -> WriteFn:
        """``count`` rows from ``first_row`` on (by rowid, from 1) of the staging
        table into the typed table, an empty cell as NULL."""
        names = ", ".join(_quote(name) for name in columns)
        values = ", ".join(f"NULLIF(c{i}, '')" for i in range(self.width))
        sql = (f"INSERT INTO {_quote(self.typed)} ({names}) SELECT {values} "
               f"FROM temp.{self.staging} WHERE rowid BETWEEN ? AND ? ORDER BY rowid")
        return lambda conn: conn.execute(sql, [first_row, first_row + count - 1])

    def publish(self, conn: sqlite3.Connection) -> None:
        """Give the typed table its name and drop the staging table, in one transaction."""
        if conn.execute(NAME_TAKEN_SQL, [self.table]).fetchone():
            raise TableExists(self.table)
        _database(conn).rename_table(self.typed, self.table)
        conn.execute(f"DROP TABLE temp.{self.staging}")


def _text_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Lines (ending in \\n) decoded from the chunks."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    for chunk in itertools.chain(chunks, [None]):
        final = chunk is None
        try:
            text = decoder.decode(b"" if final else chunk, final=final)
        except UnicodeDecodeError as ex:
            raise NotUTF8(str(ex)) from None
        if "\x00" in text:
            raise ValueError("the file contains NUL bytes: it looks binary, not like CSV")
        pending += text
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line + "\n"
        if final:
            if pending:
                yield pending
            return


def _fit(row: list[str], width: int, line_number: int, progress: Progress) -> list:
    """The row padded or cut to the header's width; a ragged row is counted."""
    if len(row) != width:
        progress.ragged_rows += 1
        if len(progress.first_ragged_lines) < 10:
            progress.first_ragged_lines.append(line_number)
        row = (row + [""] * width)[:width]
    return row


def _database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    # Datasette's connection, as it is: no pragmas, no sqlite-utils plugins.
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

