"""Expired upload tokens: their bytes go only once nothing can complete them, and
a complete that arrives after the expiry is refused inside its own write."""

import asyncio
import datetime
from dataclasses import replace

import pytest
from datasette.app import Datasette

from datasette_files.clock import format_timestamp, now_timestamp, utc_now
from datasette_files.errors import Gone
from datasette_files.registry import FileRow, Registry, UploadRow
from datasette_files.registry.placing import Placement
from datasette_files.sources import Source, Sources
from datasette_files.storage.filesystem import FilesystemStorage
from datasette_files.uploads import UploadSessions
from datasette_files.uploads.direct import seconds_left
from datasette_files.uploads.tokens import expire


def upload_row(token: str, status: str, minutes: int) -> UploadRow:
    moment = utc_now() + datetime.timedelta(minutes=minutes)
    return UploadRow(token=token, file_id=f"df-{token:0>26}", source_slug="one", actor_id=None,
                     path=f"{token}.bin", filename=f"{token}.bin",
                     content_type="application/octet-stream", declared_size=3, status=status,
                     created_at=now_timestamp(), expires_at=format_timestamp(moment),
                     received_bytes=3, content_hash="sha256:00")


def file_row(upload: UploadRow) -> FileRow:
    return FileRow(seq=None, id=upload.file_id, source_slug="one", path=upload.path,
                   filename=upload.filename, content_type=upload.content_type,
                   content_hash=upload.content_hash, size=3, width=None, height=None,
                   uploaded_by=None, created_at=now_timestamp())


async def setup(tmp_path):
    registry = Registry(Datasette(internal=str(tmp_path / "internal.db")).get_internal_database())
    await registry.migrate()
    storage = FilesystemStorage()
    await storage.configure({"root": str(tmp_path / "files")}, None)
    return registry, storage, Sources([Source("one", "filesystem", storage)])


def test_complete_refuses_a_token_that_expired_after_it_was_checked(tmp_path):
    async def run():
        registry, _, _ = await setup(tmp_path)
        late = upload_row("late", "uploaded", minutes=-1)
        await registry.uploads.create(late)
        return await registry.uploads.complete(late.token, file_row(late), now_timestamp(),
                                               Placement()), \
            await registry.files.get(late.file_id)

    assert asyncio.run(run()) == (None, None)


def test_expiry_removes_the_bytes_of_unfinished_uploads_only(tmp_path):
    async def run():
        registry, storage, sources = await setup(tmp_path)
        rows = [upload_row("done", "completed", -1), upload_row("stale", "uploaded", -1),
                upload_row("busy", "prepared", -1), upload_row("fresh", "uploaded", 60)]
        for row in rows:
            await registry.uploads.create(row)
            (storage.root / row.path).write_bytes(b"abc")
        sessions = UploadSessions()
        sessions.in_progress.add("busy")  # bytes arriving right now
        expired = await expire(registry, sources, sessions)
        left = sorted(p.name for p in storage.root.iterdir() if not p.name.startswith("."))
        tokens = [row.token for row in rows if await registry.uploads.get(row.token)]
        return expired, left, tokens

    expired, left, tokens = asyncio.run(run())
    assert expired == 2
    assert left == ["busy.bin", "done.bin", "fresh.bin"]
    assert tokens == ["busy", "fresh"]


def test_presigned_requests_never_outlive_their_token():
    def expiring_in(seconds: float) -> UploadRow:
        return replace(upload_row("soon", "prepared", 0), expires_at=format_timestamp(
            utc_now() + datetime.timedelta(seconds=seconds)))

    assert 8 <= seconds_left(expiring_in(10)) <= 10
    with pytest.raises(Gone):  # under a second: no request to sign
        seconds_left(expiring_in(0.3))
