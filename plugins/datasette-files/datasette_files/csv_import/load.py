"""Loading CSV rows into a new table, streamed, in one transaction.

Runs in a worker thread. Rows go first into a TEMP staging table (every value
kept as text) while each column's type is detected over the whole file; at the
end the real table is created with those types and filled from the staging
table, and the transaction commits. Any failure rolls everything back: no
half-filled table is ever left behind.
"""

from __future__ import annotations

import codecs
import csv
import queue
import sqlite3
from dataclasses import dataclass, field
from typing import Iterator

from .detect import ColumnTypes, column_names

BATCH_ROWS = 5000
MAX_FIELD_BYTES = 64 * 1024 * 1024
END = object()  # the feeder has sent every chunk
ABORT = object()  # the feeder stopped: abandon the import


class ImportAborted(Exception):
    """The import was abandoned (shutdown, or the file could not be read)."""


class TableExists(Exception):
    pass


class NotUTF8(Exception):
    """The bytes are not UTF-8 after all: the caller retries as Latin-1."""


@dataclass
class Progress:
    """Shared between the loading thread and the job that reports it."""

    rows: int = 0
    ragged_rows: int = 0
    first_ragged_lines: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def _text_lines(chunks: "queue.Queue", encoding: str) -> Iterator[str]:
    """Lines (ending in \\n) decoded from the queued chunks."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    while True:
        chunk = chunks.get()
        if chunk is ABORT:
            raise ImportAborted("the import was stopped")
        final = chunk is END
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


def load_csv(
    db_path: str, table: str, chunks: "queue.Queue", encoding: str, delimiter: str,
    has_header: bool, progress: Progress,
) -> None:
    """Create ``table`` in ``db_path`` from the CSV arriving on ``chunks``."""
    csv.field_size_limit(MAX_FIELD_BYTES)
    conn = sqlite3.connect(db_path, timeout=60, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _load(conn, table, chunks, encoding, delimiter, has_header, progress)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _load(conn, table, chunks, encoding, delimiter, has_header, progress) -> None:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                    "AND lower(name) = lower(?)", [table]).fetchone():
        raise TableExists(table)
    reader = csv.reader(_text_lines(chunks, encoding), delimiter=delimiter)
    first = next(reader, None)
    if first is None:
        raise ValueError("the file is empty: there is no row to import")
    header = first if has_header else None
    width = len(first)
    progress.columns = column_names(header, width)
    staging = "datasette_files_staging"
    conn.execute(f"CREATE TEMP TABLE {staging} ({', '.join(f'c{i}' for i in range(width))})")
    insert = f"INSERT INTO temp.{staging} VALUES ({', '.join('?' * width)})"
    types = ColumnTypes()
    batch = [] if header else [_fit(first, width, 1, progress)]
    if not header:
        types.observe(first)
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        types.observe(row[:width])
        batch.append(_fit(row, width, line_number, progress))
        if len(batch) >= BATCH_ROWS:
            conn.executemany(insert, batch)
            progress.rows += len(batch)
            batch = []
    if batch:
        conn.executemany(insert, batch)
        progress.rows += len(batch)
    progress.types = types.sqlite_types(width)
    columns = ", ".join(
        f"{_quote(name)} {kind}" for name, kind in zip(progress.columns, progress.types))
    conn.execute(f"CREATE TABLE {_quote(table)} ({columns})")
    values = ", ".join(f"NULLIF(c{i}, '')" for i in range(width))
    conn.execute(f"INSERT INTO {_quote(table)} SELECT {values} FROM temp.{staging}")
    conn.execute(f"DROP TABLE temp.{staging}")


def _fit(row: list[str], width: int, line_number: int, progress: Progress) -> list:
    """The row padded or cut to the header's width; a ragged row is counted."""
    if len(row) != width:
        progress.ragged_rows += 1
        if len(progress.first_ragged_lines) < 10:
            progress.first_ragged_lines.append(line_number)
        row = (row + [""] * width)[:width]
    return row


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
