"""The orders results come in, and the indexes that walk each one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

SORTS = ("relevance", "newest", "oldest", "name", "size")


@dataclass(frozen=True)
class Order:
    """A sort: the column it orders by (then seq), with the collation of the
    comparison, its direction, and the indexes that hold rows in that order
    across all sources and within one. A column that may be NULL (size) has
    its NULL rows in a segment of their own, after the others."""

    column: str
    descending: bool
    index: str
    source_index: str
    collation: str = ""  # " COLLATE NOCASE"
    nullable: bool = False

    @property
    def key(self) -> str:
        """The ORDER BY expression of the column."""
        return self.column + self.collation


ORDERS = {
    "newest": Order("f.created_at", True, "datasette_files_files_created",
                    "datasette_files_files_source_created"),
    "oldest": Order("f.created_at", False, "datasette_files_files_created",
                    "datasette_files_files_source_created"),
    "name": Order("f.filename", False, "datasette_files_files_name",
                  "datasette_files_files_source_filename", collation=" COLLATE NOCASE"),
    "size": Order("f.size", True, "datasette_files_files_size",
                  "datasette_files_files_source_size", nullable=True),
}


def key_value(order: Order, row) -> Optional[object]:
    """The sort value of a FileRow, as a cursor keeps it."""
    return getattr(row, order.column.removeprefix("f."))
