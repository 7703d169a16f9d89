"""A stored thumbnail counts only for the bytes and the generator version it
was made from, so a versioned thumbnail URL never serves a stale image."""

import asyncio
import sqlite3

from datasette.app import Datasette

from datasette_files.clock import now_timestamp
from datasette_files.registry import FileRow, Registry, StoredThumbnail
from datasette_files.sources import Source, Sources
from datasette_files.storage.filesystem import FilesystemStorage
from datasette_files.thumbnails.pillow import PillowThumbnailGenerator
from datasette_files.thumbnails.service import ThumbnailService
from support.images import image_bytes


def pillow(version: str) -> PillowThumbnailGenerator:
    generator = PillowThumbnailGenerator()
    generator.version = version
    return generator


async def setup(tmp_path):
    datasette = Datasette(internal=str(tmp_path / "internal.db"))
    registry = Registry(datasette.get_internal_database())
    await registry.migrate()
    storage = FilesystemStorage()
    await storage.configure({"root": str(tmp_path / "files")}, None)
    (storage.root / "p.png").write_bytes(image_bytes(300, 200))
    sources = Sources([Source(slug="one", storage_type="filesystem", storage=storage)])
    file = await registry.files.register(FileRow(
        seq=None, id="df-00000000000000000000000001", source_slug="one", path="p.png",
        filename="p.png", content_type="image/png", content_hash="sha256:aa", size=10,
        width=300, height=200, uploaded_by=None, created_at=now_timestamp()))
    return registry, sources, file


def stored(tmp_path):
    conn = sqlite3.connect(tmp_path / "internal.db")
    try:
        return conn.execute("SELECT generator_version, content_hash, thumb IS NOT NULL "
                            "FROM datasette_files_thumbnails").fetchall()
    finally:
        conn.close()


def test_a_new_generator_version_or_new_bytes_make_a_new_thumbnail(tmp_path):
    async def run():
        registry, sources, file = await setup(tmp_path)
        first = ThumbnailService(registry, sources, [pillow("1")], timeout=30)
        assert (await first.get(file)).width == 200
        after_first = stored(tmp_path)
        second = ThumbnailService(registry, sources, [pillow("2")], timeout=30)
        assert first.version(file) != second.version(file)
        assert (await second.get(file)).width == 200
        after_second = stored(tmp_path)
        changed = FileRow(**{**file.__dict__, "content_hash": "sha256:bb"})
        await registry.db.execute_write(
            "UPDATE datasette_files_files SET content_hash = 'sha256:bb' WHERE id = ?", [file.id])
        assert second.version(changed) != second.version(file)
        await second.get(changed)
        return after_first, after_second, stored(tmp_path)

    after_first, after_second, after_change = asyncio.run(run())
    assert after_first == [("1", "sha256:aa", 1)]
    assert after_second == [("2", "sha256:aa", 1)]
    assert after_change == [("2", "sha256:bb", 1)]


def test_a_thumbnail_of_bytes_that_changed_meanwhile_is_not_kept(tmp_path):
    async def run():
        registry, sources, file = await setup(tmp_path)
        await registry.thumbnails.store(StoredThumbnail(
            file_id=file.id, size=200, generator="pillow", created_at=now_timestamp(),
            content_hash="sha256:old", generator_version="1", thumb=b"x",
            content_type="image/png", width=1, height=1))
        return stored(tmp_path)

    assert asyncio.run(run()) == []
