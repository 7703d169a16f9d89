"""The uploads table: each upload's state between prepare and complete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

from ..errors import NotFound
from .placing import Placement, place_new_file
from .rows import FileRow, UploadRow, insert_file
from .writes import BatchedWrites


class FolderGone(NotFound):
    """The folder an upload was going to is gone (in the trash); ``path`` is
    where its bytes are now."""

    def __init__(self, path: str):
        super().__init__("The folder this upload was going to was deleted: "
                         "prepare the upload again")
        self.path = path


class UploadsTable:
    """Queries over ``datasette_files_uploads``. The writes of the upload steps
    are batched with other requests' (they are on every upload's path)."""

    def __init__(self, db, writes: BatchedWrites):
        self.db = db
        self.writes = writes

    async def create(self, upload: UploadRow) -> None:
        params = asdict(upload)
        columns = ", ".join(params)
        placeholders = ", ".join(f":{key}" for key in params)
        await self.writes.run(lambda conn: conn.execute(
            f"INSERT INTO datasette_files_uploads ({columns}) VALUES ({placeholders})", params))

    async def get(self, token: str) -> Optional[UploadRow]:
        row = (await self.db.execute(
            "SELECT * FROM datasette_files_uploads WHERE token = ?", [token])).first()
        return UploadRow.from_sql(row) if row else None

    async def record_received(self, token: str, received_bytes: int, content_hash: str) -> None:
        """Every byte is in: ready to complete (unless it is completed already)."""
        await self.writes.run(lambda conn: conn.execute(
            "UPDATE datasette_files_uploads SET status = 'uploaded', received_bytes = ?, "
            "content_hash = ? WHERE token = ? AND status != 'completed'",
            [received_bytes, content_hash, token]))

    async def record_chunk(self, token: str, received_bytes: int, total: int) -> None:
        """A chunk is in: ready for the next one."""
        await self.writes.run(lambda conn: conn.execute(
            "UPDATE datasette_files_uploads SET status = 'prepared', received_bytes = ?, "
            "declared_size = ? WHERE token = ?", [received_bytes, total, token]))

    async def restart(self, token: str) -> None:
        """Forget the bytes received for an upload: it starts again from zero
        (a multipart upload begins anew at the storage)."""
        await self.db.execute_write(
            "UPDATE datasette_files_uploads SET status = 'prepared', received_bytes = 0, "
            "content_hash = NULL, multipart_id = NULL WHERE token = ?", [token])

    async def record_multipart(self, token: str, multipart_id: str) -> Optional[str]:
        """Keep the storage's id of the upload's multipart upload, unless one is
        kept already; the id kept (None if the token is gone)."""
        def write(conn):
            conn.execute("UPDATE datasette_files_uploads SET multipart_id = ? "
                         "WHERE token = ? AND multipart_id IS NULL", [multipart_id, token])
            row = conn.execute("SELECT multipart_id FROM datasette_files_uploads "
                               "WHERE token = ?", [token]).fetchone()
            return row[0] if row else None

        return await self.writes.run(write)

    async def complete(self, token: str, file: FileRow, now: str,
                       placement: Placement) -> Optional[FileRow]:
        """Register the file (as ``placement`` says, should its name be taken)
        and spend the token in one transaction; the file as registered, or None
        (and nothing written) if the token was already spent, or has expired
        (its bytes may be being removed)."""

        def write(conn):
            # Where it goes now: its folder may have moved since the upload was read.
            row = conn.execute(
                "UPDATE datasette_files_uploads SET status = 'completed' "
                "WHERE token = ? AND status = 'uploaded' AND expires_at > ? "
                "RETURNING path, folder", [token, now]).fetchone()
            if row is None:
                return None
            file.path, file.folder = row
            if file.folder and conn.execute(
                    "SELECT 1 FROM datasette_files_folders WHERE source_slug = ? AND path = ?",
                    [file.source_slug, file.folder]).fetchone() is None:
                raise FolderGone(file.path)
            return place_new_file(conn, file, placement, lambda row: insert_file(conn, row))

        return await self.writes.run(write)

    async def reset_interrupted(self) -> None:
        """Uploads an earlier version left mid-receive (it kept that state on disk)."""
        await self.db.execute_write(
            "UPDATE datasette_files_uploads SET status = 'prepared' WHERE status = 'receiving'")

    async def unfinished_file_ids(self) -> list[str]:
        """The keys under which uploads not yet completed keep their chunks."""
        rows = await self.db.execute(
            "SELECT file_id FROM datasette_files_uploads WHERE status != 'completed'")
        return [row[0] for row in rows]

    async def expired(self, now: str) -> list[UploadRow]:
        rows = await self.db.execute(
            "SELECT * FROM datasette_files_uploads WHERE expires_at <= ? LIMIT 1000", [now])
        return [UploadRow.from_sql(row) for row in rows]

    async def delete(self, token: str) -> Optional[str]:
        """Forget an upload; the status it had, or None if it was gone already.
        Its bytes are the caller's to remove, once nothing can complete it."""
        def write(conn):
            row = conn.execute("DELETE FROM datasette_files_uploads WHERE token = ? "
                               "RETURNING status", [token]).fetchone()
            return row[0] if row else None

        return await self.db.execute_write_fn(write)
