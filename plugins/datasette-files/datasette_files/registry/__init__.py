"""The registry: the plugin's tables in Datasette's internal database, and the
only package that reads or writes their SQL.

The registry lives in the internal database, where Datasette evaluates
permission SQL, so listings and searches filter by permission inside one query.
Every write goes through Datasette's write thread for that database.
"""

from __future__ import annotations

from typing import Iterable, Optional

from .files import FOLDER_SORTS, LISTING_SORTS, AllowedSQL, FilesTable
from .folders import FoldersTable, FolderRow
from .imports import ImportsTable
from .pdf_pages import PdfPagesTable, StoredPdfOutline, StoredPdfPage
from .preferences import PreferencesTable
from .rows import FileRow, ImportJob, StoredThumbnail, UploadRow
from .schema import apply_migrations
from .search import SORTS as SEARCH_SORTS
from .search import FileSearch, InvalidCursor, InvalidQuery, SearchFilters, SearchPage, SearchTimedOut
from .synced import AddedFile, KnownFile, SyncedFiles
from .thumbnails import ThumbnailsTable
from .trash import TrashItem, TrashTable
from .journal import JournalTable
from .listing_versions import ListingVersions
from .uploads import UploadsTable
from .writes import BatchedWrites, FileToStore

__all__ = [
    "AddedFile", "AllowedSQL", "FOLDER_SORTS", "FileRow", "FolderRow", "TrashItem", "FileToStore", "ImportJob", "InvalidCursor",
    "InvalidQuery", "KnownFile", "LISTING_SORTS", "Registry", "SEARCH_SORTS", "SearchFilters", "SearchPage",
    "SearchTimedOut", "StoredPdfOutline", "StoredPdfPage", "StoredThumbnail", "UploadRow",
]


class Registry:
    """The registry's tables, each with its queries."""

    def __init__(self, db, search_time_limit_ms: Optional[int] = None):
        self.db = db
        # The writes on every upload's path, batched when requests come together.
        self.batched_writes = BatchedWrites(db)
        self.files = FilesTable(db, self.batched_writes)
        self.search_index = FileSearch(db, search_time_limit_ms)
        self.synced = SyncedFiles(db)
        self.uploads = UploadsTable(db, self.batched_writes)
        self.thumbnails = ThumbnailsTable(db)
        self.pdf_pages = PdfPagesTable(db)
        self.imports = ImportsTable(db)
        self.folders = FoldersTable(db)
        self.trash = TrashTable(db)
        self.journal = JournalTable(db)
        self.preferences = PreferencesTable(db)
        self.listing_versions = ListingVersions(db)

    async def migrate(self) -> list[str]:
        """Bring the schema up to date; the names of the migrations applied."""
        # WAL lets searches read while uploads, syncs and hashing write.
        await self.db.execute_write_fn(
            lambda conn: conn.execute("PRAGMA journal_mode=WAL"), transaction=False)
        return await self.db.execute_write_fn(apply_migrations)

    async def set_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Record the configured ``(slug, storage_type)`` pairs, dropping stale ones.

        Files of a source removed from the config stay registered: adding the
        source back makes them reachable again.
        """
        sources = list(sources)

        def write(conn):
            conn.execute("DELETE FROM datasette_files_sources")
            conn.executemany(
                "INSERT INTO datasette_files_sources (slug, storage_type) VALUES (?, ?)", sources)

        await self.db.execute_write_fn(write)
