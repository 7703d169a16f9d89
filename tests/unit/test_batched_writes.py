"""Batched writes: concurrent writes share one trip through Datasette's write
thread and one transaction, one failing write does not undo the others, a
batch's small files are stored before its rows, and plugins that wrap
Datasette's writes see every one."""

import asyncio
import sqlite3
import threading
import time

from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm

from datasette_files.registry.writes import BatchedWrites, FileToStore
from datasette_files.storage.filesystem import FilesystemStorage
from datasette_files.storage.filesystem import writes as filesystem_writes


def insert(n):
    return lambda conn: conn.execute("INSERT INTO t (n) VALUES (?)", [n]).lastrowid


def make_database(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    conn.close()
    return Datasette([str(path)]).get_database("data")


def counting_trips(db):
    """Count the database's execute_write_fn calls."""
    trips = []
    real = db.execute_write_fn

    async def execute_write_fn(fn, **kwargs):
        trips.append(fn)
        return await real(fn, **kwargs)

    db.execute_write_fn = execute_write_fn
    return trips


def test_concurrent_writes_share_a_trip_and_fail_alone(tmp_path):
    async def run():
        db = make_database(tmp_path)
        trips = counting_trips(db)
        writes = BatchedWrites(db)
        # Twenty writes and a duplicate, all submitted in one turn: one trip.
        results = await asyncio.gather(*[writes.run(insert(n)) for n in range(1, 21)],
                                       writes.run(insert(5)), return_exceptions=True)
        later = await writes.run(insert(21))
        rows = [row[0] for row in (await db.execute("SELECT n FROM t ORDER BY n")).rows]
        return results, later, rows, len(trips)

    results, later, rows, trips = asyncio.run(run())
    assert results[:20] == list(range(1, 21))
    assert isinstance(results[20], sqlite3.IntegrityError)
    assert later == 21
    assert rows == list(range(1, 22))
    assert trips == 2


def test_writes_that_arrive_while_a_batch_commits_go_together_in_the_next(tmp_path):
    started = threading.Event()

    def slow(conn):
        started.set()
        time.sleep(0.3)  # a batch that takes a while to commit
        return insert(100)(conn)

    async def run():
        db = make_database(tmp_path)
        trips = counting_trips(db)
        writes = BatchedWrites(db)
        first = asyncio.ensure_future(writes.run(slow))
        while not started.is_set():
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(writes.run(insert(n))) for n in range(1, 9)]
        results = await asyncio.gather(first, *rest)
        return len(trips), results

    trips, results = asyncio.run(run())
    assert trips == 2
    assert results == [100, *range(1, 9)]


class WriteWatcher:
    def __init__(self):
        self.seen = []

    @hookimpl
    def write_wrapper(self, datasette, database, request, transaction):
        def wrapper(conn):
            result = yield
            self.seen.append((database, result))
        return wrapper


def test_plugins_that_wrap_datasettes_writes_see_batched_writes(tmp_path):
    watcher = WriteWatcher()
    pm.register(watcher, name="test-write-watcher")
    try:
        async def run():
            db = make_database(tmp_path)
            writes = BatchedWrites(db)
            return await asyncio.gather(*[writes.run(insert(n)) for n in (1, 2, 3)])

        assert asyncio.run(run()) == [1, 2, 3]
        # A batch's writes are answered as soon as it commits, while the write
        # thread may still be running the wrappers' code after their yield.
        deadline = time.monotonic() + 10
        while not watcher.seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        pm.unregister(name="test-write-watcher")
    # One batch: one write of Datasette's, which the plugin saw.
    assert [database for database, _ in watcher.seen] == ["data"]


def test_a_batch_stores_its_files_syncs_each_directory_once_then_commits(
        tmp_path, monkeypatch):
    synced = []
    real_fsync_directory = filesystem_writes.fsync_directory
    monkeypatch.setattr(filesystem_writes, "fsync_directory",
                        lambda d: synced.append(d) or real_fsync_directory(d))
    storage = FilesystemStorage()
    asyncio.run(storage.configure({"root": str(tmp_path / "root")}, None))

    async def run():
        db = make_database(tmp_path)
        writes = BatchedWrites(db)
        return await asyncio.gather(
            *[writes.run(insert(n), storing=FileToStore(storage, f"f{n}", b"x" * n))
              for n in range(1, 6)],
            # An unsafe path: never stored, so its row is never written.
            writes.run(insert(6), storing=FileToStore(storage, "../escape", b"no")),
            # Stored, but its row fails.
            writes.run(insert(1), storing=FileToStore(storage, "duplicate", b"d")),
            return_exceptions=True), db

    outcomes, db = asyncio.run(run())
    assert outcomes[:5] == [1, 2, 3, 4, 5]
    assert type(outcomes[5]).__name__ == "UnsafePath"
    assert isinstance(outcomes[6], sqlite3.IntegrityError)
    rows = sqlite3.connect(tmp_path / "data.db").execute("SELECT n FROM t ORDER BY n").fetchall()
    assert rows == [(1,), (2,), (3,), (4,), (5,)]
    assert synced == [storage.root]
    assert sorted(p.name for p in storage.root.iterdir() if not p.name.startswith(".")) == [
        "duplicate", "f1", "f2", "f3", "f4", "f5"]
    assert (storage.root / "f3").read_bytes() == b"xxx"
    assert list((storage.root / ".datasette-files-tmp").iterdir()) == []


def test_a_turn_datasette_cannot_give_fails_its_writes_and_the_next_write_asks_again(tmp_path):
    async def run():
        db = make_database(tmp_path)
        real = db.execute_write_fn
        calls = []

        async def closing_then_open(fn, **kwargs):
            calls.append(fn)
            if len(calls) == 1:
                raise RuntimeError("the database is closing")
            return await real(fn, **kwargs)

        db.execute_write_fn = closing_then_open
        writes = BatchedWrites(db)
        failed = await asyncio.gather(writes.run(insert(1)), writes.run(insert(2)),
                                      return_exceptions=True)
        return failed, await writes.run(insert(3))

    failed, later = asyncio.run(run())
    assert [str(outcome) for outcome in failed] == ["the database is closing"] * 2
    assert later == 3


class FailsAfterCommit:
    @hookimpl
    def write_wrapper(self, datasette, database, request, transaction):
        def wrapper(conn):
            yield
            raise RuntimeError("a plugin failed after the write")
        return wrapper


def test_writes_that_committed_succeed_whatever_happens_after(tmp_path):
    pm.register(FailsAfterCommit(), name="test-fails-after-commit")
    try:
        async def run():
            db = make_database(tmp_path)
            writes = BatchedWrites(db)
            return await asyncio.gather(writes.run(insert(1)), writes.run(insert(2)))

        assert asyncio.run(run()) == [1, 2]
    finally:
        pm.unregister(name="test-fails-after-commit")
    rows = sqlite3.connect(tmp_path / "data.db").execute("SELECT n FROM t").fetchall()
    assert rows == [(1,), (2,)]
