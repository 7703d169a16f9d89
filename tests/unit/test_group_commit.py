"""Group commit: concurrent writes share transactions on the upload path's own
connection, one failing write does not undo the others, and Datasette's own
writer can write the same database meanwhile."""

import asyncio
import sqlite3

from datasette.app import Datasette

from datasette_files.group_commit import GroupCommit


def insert(n):
    return lambda conn: conn.execute("INSERT INTO t (n) VALUES (?)", [n]).lastrowid


def make_database(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    conn.close()
    return Datasette([str(path)]).get_database("data")


def test_concurrent_writes_are_batched_and_isolated(tmp_path):
    async def run():
        db = make_database(tmp_path)
        group = GroupCommit(db)
        batches = []
        write_batch = group._write_batch
        group._write_batch = lambda conn, batch: batches.append(len(batch)) or write_batch(conn, batch)
        try:
            # Twenty writes and a duplicate, all waiting when the flush starts: one batch.
            results = await asyncio.gather(*[group.run(insert(n)) for n in range(1, 21)],
                                           group.run(insert(5)), return_exceptions=True)
            # Later writes start their own batch.
            later = await group.run(insert(21))
        finally:
            group.close()
        rows = [row[0] for row in (await db.execute("SELECT n FROM t ORDER BY n")).rows]
        return results, later, rows, batches

    results, later, rows, batches = asyncio.run(run())
    assert results[:20] == list(range(1, 21))
    assert isinstance(results[20], sqlite3.IntegrityError)
    assert later == 21
    assert rows == list(range(1, 22))
    assert batches == [21, 1]


def test_datasette_writer_and_group_commit_share_the_database(tmp_path):
    async def run():
        db = make_database(tmp_path)
        group = GroupCommit(db)

        def slow_batch(conn):
            # Datasette's writer holds the write lock for a while, as a sync does.
            conn.executemany("INSERT INTO t (n) VALUES (?)", [[n] for n in range(1000, 6000)])

        try:
            await asyncio.gather(db.execute_write_fn(slow_batch),
                                 *[group.run(insert(n)) for n in range(1, 50)])
        finally:
            group.close()
        return (await db.execute("SELECT count(*) FROM t")).single_value()

    assert asyncio.run(run()) == 5000 + 49


def test_a_batch_that_cannot_commit_fails_its_writes_and_the_next_one_works(
        tmp_path, monkeypatch):
    monkeypatch.setattr("datasette_files.group_commit.BUSY_TIMEOUT_SECONDS", 0.2)

    async def run():
        db = make_database(tmp_path)
        group = GroupCommit(db)
        blocker = sqlite3.connect(db.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            blocked = await asyncio.gather(group.run(insert(1)), group.run(insert(2)),
                                           return_exceptions=True)
            blocker.execute("ROLLBACK")
            after = await group.run(insert(3))
        finally:
            blocker.close()
            group.close()
        rows = [row[0] for row in (await db.execute("SELECT n FROM t")).rows]
        return blocked, after, rows

    blocked, after, rows = asyncio.run(run())
    assert [type(outcome) for outcome in blocked] == [sqlite3.OperationalError] * 2
    assert "locked" in str(blocked[0])
    assert after == 3
    assert rows == [3]


def test_datasette_shutdown_closes_the_upload_writer(tmp_path):
    from datasette_files.plugin_state import state

    (tmp_path / "one").mkdir()
    config = {"permissions": {"files-browse": True, "files-upload": True},
              "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
                  "one": {"storage": "filesystem", "config": {"root": str(tmp_path / "one")}}}}}}

    async def run():
        datasette = Datasette(config=config, internal=str(tmp_path / "internal.db"))
        await datasette.invoke_startup()
        response = await datasette.client.put("/-/files/upload/one/a.txt", content=b"hi")
        assert response.status_code == 201, response.text
        writer = state(datasette).registry.group._thread
        assert writer.is_alive()
        await datasette.invoke_shutdown()
        return writer

    assert not asyncio.run(run()).is_alive()


def test_a_batch_places_its_files_syncs_their_directory_once_then_commits(
        tmp_path, monkeypatch):
    import datasette_files.group_commit as group_commit

    synced = []
    real_fsync_directory = group_commit.fsync_directory
    monkeypatch.setattr(group_commit, "fsync_directory",
                        lambda d: synced.append(d) or real_fsync_directory(d))
    spool, source = tmp_path / "spool", tmp_path / "source"
    spool.mkdir()
    source.mkdir()

    def placing(name):
        (spool / name).write_text(name)

        def place():
            if name == "bad":
                raise OSError("cannot place")
            (spool / name).rename(source / name)
            return source
        return place

    async def run():
        db = make_database(tmp_path)
        group = GroupCommit(db)
        try:
            outcomes = await asyncio.gather(
                *[group.run(insert(n), place=placing(f"f{n}")) for n in range(1, 6)],
                group.run(insert(6), place=placing("bad")),
                group.run(insert(1), place=placing("duplicate")),
                return_exceptions=True)
        finally:
            group.close()
        rows = [row[0] for row in (await db.execute("SELECT n FROM t ORDER BY n")).rows]
        return outcomes, rows

    outcomes, rows = asyncio.run(run())
    assert outcomes[:5] == [1, 2, 3, 4, 5]
    assert isinstance(outcomes[5], OSError)  # its row was never written
    assert isinstance(outcomes[6], sqlite3.IntegrityError)  # placed, but its row failed
    assert rows == [1, 2, 3, 4, 5]
    assert synced == [source]
    assert sorted(p.name for p in source.iterdir()) == [
        "duplicate", "f1", "f2", "f3", "f4", "f5"]
