"""The thumbnails table: generated thumbnails and recorded failures."""

from __future__ import annotations

from dataclasses import asdict

from .rows import StoredThumbnail


class ThumbnailsTable:
    """Queries over ``datasette_files_thumbnails``."""

    def __init__(self, db):
        self.db = db

    async def for_file(self, file_id: str, size: int) -> list[StoredThumbnail]:
        """Stored thumbnails and recorded failures for a file at one size."""
        rows = await self.db.execute(
            "SELECT * FROM datasette_files_thumbnails WHERE file_id = ? AND size = ?",
            [file_id, size])
        return [StoredThumbnail(**dict(row)) for row in rows]

    async def made_for(self, file_ids: list[str], size: int) -> set[str]:
        """Which of ``file_ids`` have a thumbnail of ``size`` made from their
        bytes as they are now: one query, by primary key."""
        if not file_ids:
            return set()
        marks = ", ".join("?" for _ in file_ids)
        rows = await self.db.execute(
            "SELECT DISTINCT t.file_id FROM datasette_files_thumbnails AS t "
            "JOIN datasette_files_files AS f ON f.id = t.file_id "
            f"WHERE t.file_id IN ({marks}) AND t.size = ? AND t.thumb IS NOT NULL "
            "AND t.content_hash IS f.content_hash", [*file_ids, size])
        return {row[0] for row in rows}

    async def store(self, thumbnail: StoredThumbnail) -> None:
        """Record a thumbnail (or, with ``error`` set, a failure); nothing is
        written if the file was deleted, or its bytes changed, meanwhile."""
        params = asdict(thumbnail)
        columns = ", ".join(params)
        await self.db.execute_write(
            f"INSERT OR REPLACE INTO datasette_files_thumbnails ({columns}) "
            f"SELECT {', '.join(':' + key for key in params)} WHERE EXISTS "
            "(SELECT 1 FROM datasette_files_files WHERE id = :file_id "
            "AND content_hash IS :content_hash)", params)
