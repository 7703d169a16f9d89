"""The journal keeps a change until storage is back as the registry says:
an undo or a cleanup that cannot be done now is tried again at the next start."""

import asyncio

from datasette.app import Datasette

from datasette_files.organise.changes import recover
from datasette_files.registry import Registry
from datasette_files.sources import Source, Sources
from datasette_files.storage.filesystem import FilesystemStorage


async def registry_and_source(tmp_path):
    registry = Registry(Datasette(internal=str(tmp_path / "internal.db")).get_internal_database())
    await registry.migrate()
    storage = FilesystemStorage()
    await storage.configure({"root": str(tmp_path / "files")}, None)
    return registry, Source("one", "filesystem", storage)


def test_a_change_whose_source_is_away_at_start_is_undone_when_it_is_back(tmp_path):
    async def run():
        registry, source = await registry_and_source(tmp_path)
        (tmp_path / "files" / "b").mkdir()
        (tmp_path / "files" / "b" / "x.txt").write_bytes(b"x")  # moved a -> b, not committed
        await registry.journal.begin([["move", "one", "a/x.txt", "b/x.txt", None]], [])
        # A start without the source (its disk not mounted, say): nothing can be
        # undone, so the change is kept.
        await recover(registry, Sources([]))
        assert len(await registry.journal.unfinished()) == 1
        await recover(registry, Sources([source]))
        assert await registry.journal.unfinished() == []
        return (tmp_path / "files" / "a" / "x.txt").read_bytes()

    assert asyncio.run(run()) == b"x"


def test_a_committed_change_keeps_its_cleanup_until_it_is_done(tmp_path):
    async def run():
        registry, source = await registry_and_source(tmp_path)
        (tmp_path / "files" / "copy.txt").write_bytes(b"left behind")
        entry = await registry.journal.begin([], [["delete", "one", "copy.txt"]])
        await registry.db.execute_write_fn(
            lambda conn: registry.journal.commit_in(conn, entry))
        await recover(registry, Sources([]))
        assert len(await registry.journal.unfinished()) == 1
        await recover(registry, Sources([source]))
        assert await registry.journal.unfinished() == []
        return (tmp_path / "files" / "copy.txt").exists()

    assert asyncio.run(run()) is False
