"""The PDF viewer's cache: each document's outline (page count, page sizes)
and its rendered pages, keyed by content hash and renderer version, so a page
is rendered once however many files share those bytes.

The cache is bounded: past ``MAX_PAGE_BYTES`` of page images (or
``MAX_OUTLINES`` outlines) the oldest entries go, in the write that adds one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

# What rendered pages may take in the registry, and how many outlines it keeps.
MAX_PAGE_BYTES = 100 * 1024 * 1024
MAX_OUTLINES = 10_000
# Failures take no bytes, but rows all the same.
MAX_PAGE_ROWS = 20_000


@dataclass
class StoredPdfOutline:
    """A document's page count and first pages' sizes (points), or why it
    could not be read."""

    content_hash: str
    renderer: str
    created_at: str
    page_count: Optional[int] = None
    page_sizes: Optional[list[tuple[float, float]]] = None
    error: Optional[str] = None


@dataclass
class StoredPdfPage:
    """One rendered page, or why it could not be rendered."""

    content_hash: str
    renderer: str
    page: int
    created_at: str
    content_type: Optional[str] = None
    image: Optional[bytes] = None
    width: Optional[int] = None
    height: Optional[int] = None
    error: Optional[str] = None


class PdfPagesTable:
    """Queries over ``datasette_files_pdf_outlines`` and ``datasette_files_pdf_pages``."""

    def __init__(self, db, max_page_bytes: int = MAX_PAGE_BYTES,
                 max_outlines: int = MAX_OUTLINES, max_page_rows: int = MAX_PAGE_ROWS):
        self.db = db
        self.max_page_bytes = max_page_bytes
        self.max_outlines = max_outlines
        self.max_page_rows = max_page_rows

    async def outline(self, content_hash: str, renderer: str) -> Optional[StoredPdfOutline]:
        rows = await self.db.execute(
            "SELECT content_hash, renderer, created_at, page_count, page_sizes, error "
            "FROM datasette_files_pdf_outlines WHERE content_hash = ? AND renderer = ?",
            [content_hash, renderer])
        row = rows.first()
        if row is None:
            return None
        sizes = json.loads(row["page_sizes"]) if row["page_sizes"] else None
        return StoredPdfOutline(
            content_hash=row["content_hash"], renderer=row["renderer"],
            created_at=row["created_at"], page_count=row["page_count"],
            page_sizes=[tuple(size) for size in sizes] if sizes is not None else None,
            error=row["error"])

    async def store_outline(self, outline: StoredPdfOutline) -> None:
        """Record an outline (or a failure), dropping the oldest past the bound."""
        sizes = json.dumps(outline.page_sizes) if outline.page_sizes is not None else None

        def write(conn):
            conn.execute(
                "INSERT OR REPLACE INTO datasette_files_pdf_outlines (content_hash, renderer, "
                "created_at, page_count, page_sizes, error) VALUES (?, ?, ?, ?, ?, ?)",
                [outline.content_hash, outline.renderer, outline.created_at,
                 outline.page_count, sizes, outline.error])
            conn.execute(
                "DELETE FROM datasette_files_pdf_outlines WHERE rowid IN (SELECT rowid FROM "
                "datasette_files_pdf_outlines ORDER BY created_at DESC LIMIT -1 OFFSET ?)",
                [self.max_outlines])

        await self.db.execute_write_fn(write)

    async def page(self, content_hash: str, renderer: str, page: int
                   ) -> Optional[StoredPdfPage]:
        rows = await self.db.execute(
            "SELECT content_hash, renderer, page, created_at, content_type, image, width, "
            "height, error FROM datasette_files_pdf_pages "
            "WHERE content_hash = ? AND renderer = ? AND page = ?",
            [content_hash, renderer, page])
        row = rows.first()
        return StoredPdfPage(**dict(row)) if row is not None else None

    async def store_page(self, page: StoredPdfPage) -> None:
        """Record a rendered page (or a failure); the oldest pages go while the
        images take more than ``max_page_bytes``, or the rows pass ``max_page_rows``."""

        def write(conn):
            conn.execute(
                "INSERT OR REPLACE INTO datasette_files_pdf_pages (content_hash, renderer, "
                "page, created_at, content_type, image, width, height, error, bytes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [page.content_hash, page.renderer, page.page, page.created_at,
                 page.content_type, page.image, page.width, page.height, page.error,
                 len(page.image or b"")])
            # The newest rows whose running total fits the budget stay.
            conn.execute(
                "DELETE FROM datasette_files_pdf_pages WHERE rowid IN ("
                " SELECT rowid FROM (SELECT rowid, sum(bytes) OVER newest AS total,"
                "  row_number() OVER newest AS n FROM datasette_files_pdf_pages"
                "  WINDOW newest AS (ORDER BY created_at DESC, rowid DESC))"
                " WHERE total > ? OR n > ?)",
                [self.max_page_bytes, self.max_page_rows])

        await self.db.execute_write_fn(write)
