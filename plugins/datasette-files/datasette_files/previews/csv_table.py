"""A CSV file's first rows as an HTML table, its header found as the CSV import does."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jinja2

from ..csv_import.detect import sniff

MAX_ROWS = 1000
MAX_COLUMNS = 100
# A longer cell is cut (with an ellipsis): the table stays readable.
MAX_CELL_CHARS = 1000
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TABLE_TEMPLATE = "_files_preview_csv_table.html"


def csv_table(text: str, filename: str, cut: bool) -> dict:
    """``html`` (the table) and what the note says: rows and columns shown,
    whether there were more, and a ``reason`` when reading stopped early."""
    reason = None
    if cut:
        end = text.rfind("\n")
        if end >= 0:
            text = text[:end + 1]  # the last line is cut: dropped, not shown broken
        else:
            reason = "Its first line is longer than the part shown, and is cut."
    delimiter, has_header = sniff(text, filename)
    rows, more_rows = [], False
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    wanted = MAX_ROWS + (1 if has_header else 0)
    try:
        for row in reader:
            if len(rows) == wanted:
                more_rows = True
                break
            rows.append(row)
    except csv.Error as ex:  # a cell past the csv module's limit, a NUL
        reason = f"Reading stopped at line {reader.line_num}: {ex}."
    header = rows.pop(0) if has_header and rows else None
    columns = max((len(row) for row in rows + [header or []]), default=0)
    return {
        "html": _table_html(header, rows),
        "delimiter": delimiter,
        "rows_shown": len(rows),
        "more_rows": more_rows,
        "columns": columns,
        "columns_shown": min(columns, MAX_COLUMNS),
        "more_columns": columns > MAX_COLUMNS,
        "reason": reason,
    }


def _cells(row: list[str]) -> list[str]:
    return [cell if len(cell) <= MAX_CELL_CHARS else cell[:MAX_CELL_CHARS] + "…"
            for cell in row[:MAX_COLUMNS]]


def _table_html(header, rows: list[list[str]]) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=True)
    return environment.get_template(TABLE_TEMPLATE).render(
        header=_cells(header) if header is not None else None,
        rows=[_cells(row) for row in rows])
