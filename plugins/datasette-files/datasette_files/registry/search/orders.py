"""The orders results come in, and the indexes that walk each one."""

from __future__ import annotations

from dataclasses import dataclass

SORTS = ("relevance", "newest", "oldest", "name", "size")


@dataclass(frozen=True)
class Order:
    """A sort: its key (an SQL expression over the files table ``f``, then
    ``f.seq``), its direction, and the indexes that hold rows in that order
    across all sources and within one."""

    key: str
    descending: bool
    index: str
    source_index: str


ORDERS = {
    "newest": Order("f.created_at", True, "datasette_files_files_created",
                    "datasette_files_files_source_created"),
    "oldest": Order("f.created_at", False, "datasette_files_files_created",
                    "datasette_files_files_source_created"),
    "name": Order("f.filename COLLATE NOCASE", False, "datasette_files_files_name",
                  "datasette_files_files_source_filename"),
    # A file of unknown size sorts as the smallest (-1): an index on the
    # expression keeps the keyset cursor's comparison exact.
    "size": Order("ifnull(f.size, -1)", True, "datasette_files_files_size",
                  "datasette_files_files_source_size_known"),
}


def key_values(order: Order, row) -> list:
    """The sort key of a FileRow, as the cursor keeps it."""
    if order.key.startswith("f.created_at"):
        return [row.created_at]
    if order.key.startswith("f.filename"):
        return [row.filename]
    return [row.size if row.size is not None else -1]
