"""The imports table: CSV import jobs and their progress."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

from .rows import ImportJob


class ImportsTable:
    """Queries over ``datasette_files_imports``."""

    def __init__(self, db):
        self.db = db

    async def create(self, job: ImportJob) -> None:
        params = asdict(job)
        columns = ", ".join(params)
        placeholders = ", ".join(f":{key}" for key in params)
        await self.db.execute_write(
            f"INSERT INTO datasette_files_imports ({columns}) VALUES ({placeholders})", params)

    async def update(self, import_id: str, **changes) -> None:
        """Set the named columns of one job."""
        assignments = ", ".join(f"{key} = :{key}" for key in changes)
        await self.db.execute_write(
            f"UPDATE datasette_files_imports SET {assignments} WHERE id = :import_id",
            {**changes, "import_id": import_id})

    async def get(self, import_id: str) -> Optional[ImportJob]:
        row = (await self.db.execute(
            "SELECT * FROM datasette_files_imports WHERE id = ?", [import_id])).first()
        return ImportJob.from_sql(row) if row else None

    async def interrupt_unfinished(self, finished_at: str) -> list[ImportJob]:
        """Mark the jobs a stopped server left queued or running as interrupted;
        those jobs (their half-loaded tables are the caller's to drop)."""
        rows = await self.db.execute(
            "SELECT * FROM datasette_files_imports WHERE status IN ('queued', 'running')")
        jobs = [ImportJob.from_sql(row) for row in rows]
        await self.db.execute_write(
            "UPDATE datasette_files_imports SET status = 'interrupted', finished_at = ?, "
            "error = 'The server stopped while this import was running; nothing was "
            "imported. Start it again.' WHERE status IN ('queued', 'running')",
            [finished_at])
        return jobs
