"""What a CSV file looks like: encoding, delimiter, header, column types, names."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from typing import Optional

CSV_TYPES = {"text/csv", "text/tab-separated-values", "application/csv"}
CSV_EXTENSIONS = (".csv", ".tsv", ".tab")
DELIMITERS = ",\t;|"
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def is_csv(content_type: Optional[str], filename: str) -> bool:
    return (content_type or "").lower() in CSV_TYPES or filename.lower().endswith(CSV_EXTENSIONS)


def decode_sample(sample: bytes) -> tuple[str, str]:
    """(text, encoding) of a file's first bytes: UTF-8 (BOM or not), else Latin-1."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return sample[3:].decode("utf-8", "ignore"), "utf-8-sig"
    try:
        return sample.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as ex:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if ex.start >= len(sample) - 3:
            return sample[: ex.start].decode("utf-8"), "utf-8"
        return sample.decode("latin-1"), "latin-1"


def sniff(text: str, filename: str) -> tuple[str, bool]:
    """(delimiter, has_header) from a sample of the text."""
    lines = text.splitlines()[:50]
    sample = "\n".join(lines)
    default = "\t" if filename.lower().endswith((".tsv", ".tab")) else ","
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = default
    try:
        has_header = csv.Sniffer().has_header(sample) if len(lines) > 1 else True
    except csv.Error:
        has_header = False
    if not has_header:
        # The sniffer gives up easily (an empty cell below is enough); a first row
        # of distinct, non-empty, non-numeric names is a header in practice.
        first = next(csv.reader([lines[0]], delimiter=delimiter), []) if lines else []
        has_header = bool(first) and len(set(first)) == len(first) and all(
            cell.strip() and not _FLOAT.match(cell.strip()) for cell in first)
    return delimiter, has_header


@dataclass
class ColumnTypes:
    """Running detection of each column's type: integer, float or text.

    Empty cells are NULL and say nothing; a column starts as integer and only
    widens (integer -> float -> text), so the whole file decides.
    """

    types: list[str] = field(default_factory=list)

    def observe(self, row: list[str]) -> None:
        if len(row) > len(self.types):
            self.types.extend(["empty"] * (len(row) - len(self.types)))
        for index, value in enumerate(row):
            current = self.types[index]
            if current == "text" or value == "":
                continue
            if _INTEGER.match(value):
                kind = "integer"
            elif _FLOAT.match(value):
                kind = "float"
            else:
                kind = "text"
            self.types[index] = _wider(current, kind)

    def sqlite_types(self, count: int) -> list[str]:
        names = {"integer": "INTEGER", "float": "REAL", "text": "TEXT", "empty": "TEXT"}
        padded = self.types + ["empty"] * (count - len(self.types))
        return [names[t] for t in padded[:count]]


_ORDER = ["empty", "integer", "float", "text"]


def _wider(a: str, b: str) -> str:
    return a if _ORDER.index(a) >= _ORDER.index(b) else b


def column_names(header: Optional[list[str]], count: int) -> list[str]:
    """Unique, non-empty column names, from the header when there is one."""
    names, seen = [], set()
    for index in range(count):
        raw = header[index].strip() if header and index < len(header) else ""
        name = raw or f"column_{index + 1}"
        base, n = name, 2
        while name.lower() in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name.lower())
        names.append(name)
    return names


def table_name_for(filename: str) -> str:
    """A table name from a filename: letters, digits and underscores."""
    stem = os.path.splitext(filename)[0]
    name = re.sub(r"[^0-9A-Za-z_]+", "_", stem).strip("_").lower()
    if not name:
        name = "imported"
    if name[0].isdigit():
        name = f"t_{name}"
    return name[:60]


def preview_rows(text: str, delimiter: str, limit: int = 20) -> list[list[str]]:
    rows = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for row in reader:
            rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows
