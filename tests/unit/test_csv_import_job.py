"""CSV import jobs against a real Datasette database, fed by a storage that is
slow or fails (a remote store, a dropped connection): stopping a job ends its
thread at once and leaves no table; a storage error fails the job saying why;
only a few jobs run at once; a loop that closes mid-import does not hang."""

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from typing import Optional

import pytest
from datasette.app import Datasette

from datasette_files.base import FileMetadata, Storage, StorageCapabilities, StorageUnavailable
from datasette_files.clock import now_timestamp
from datasette_files.csv_import.job import run_import
from datasette_files.registry import FileRow, ImportJob, Registry
from datasette_files.sources import Source

CHUNK = 64 * 1024
CSV = b"id,name\n" + b"".join(f"{n},row {n}\n".encode() for n in range(200_000))
THREAD_NAME = "datasette-files CSV import"


class SlowStorage(Storage):
    """Only the specification's methods: bytes trickle in, and may stop with an error."""

    storage_type = "slow"
    capabilities = StorageCapabilities()

    def __init__(self, content: bytes = CSV, pause: float = 0.01,
                 fail_after: Optional[int] = None):
        self.content, self.pause, self.fail_after = content, pause, fail_after

    async def configure(self, config, get_secret):
        pass

    async def get_file_metadata(self, path):
        return FileMetadata(path=path, filename=path, size=len(self.content))

    async def read_file(self, path):
        return self.content

    async def stream_file(self, path):
        for start in range(0, len(self.content), CHUNK):
            if self.fail_after is not None and start >= self.fail_after:
                raise StorageUnavailable("the bucket stopped answering")
            await asyncio.sleep(self.pause)
            yield self.content[start:start + CHUNK]


async def setup(tmp_path, storage: Storage, name: str = "t"):
    sqlite3.connect(tmp_path / "data.db").close()
    datasette = Datasette([str(tmp_path / "data.db")], internal=str(tmp_path / "internal.db"))
    await datasette.invoke_startup()
    registry = Registry(datasette.get_internal_database())
    source = Source(slug="slow", storage_type="slow", storage=storage)
    file = FileRow(seq=None, id="df-00000000000000000000000000", source_slug="slow",
                   path="data.csv", filename="data.csv", content_type="text/csv",
                   content_hash=None, size=len(storage.content), width=None, height=None,
                   uploaded_by=None, created_at=now_timestamp())
    job = ImportJob(id=f"imp-{name}", file_id=file.id, actor_id=None, database_name="data",
                    table_name=name, delimiter=",", has_header=True, encoding="utf-8",
                    status="queued", created_at=now_timestamp(), total_bytes=file.size)
    await registry.imports.create(job)
    return datasette, registry, source, file, job


def tables(tmp_path):
    conn = sqlite3.connect(tmp_path / "data.db")
    try:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()


def parser_threads() -> int:
    return sum(thread.name == THREAD_NAME for thread in threading.enumerate())


def wait_for_no_parser_thread(seconds: float = 3) -> None:
    deadline = time.monotonic() + seconds
    while parser_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert parser_threads() == 0


def test_a_stopped_import_ends_its_thread_at_once_and_leaves_no_table(tmp_path):
    async def run():
        datasette, registry, source, file, job = await setup(tmp_path, SlowStorage())
        db = datasette.get_database("data")
        task = asyncio.create_task(run_import(registry.imports, source, file, job, db,
                                              asyncio.Semaphore(2)))
        while (now := await registry.imports.get(job.id)).rows_imported == 0:
            assert now.status in ("queued", "running"), now
            await asyncio.sleep(0.05)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started, await registry.imports.get(job.id)

    took, job = asyncio.run(run())
    assert took < 2
    assert job.status == "interrupted"
    wait_for_no_parser_thread()
    assert tables(tmp_path) == []


def test_a_storage_error_fails_the_job_saying_why(tmp_path):
    async def run():
        datasette, registry, source, file, job = await setup(
            tmp_path, SlowStorage(pause=0, fail_after=20 * CHUNK))
        await run_import(registry.imports, source, file, job, datasette.get_database("data"),
                         asyncio.Semaphore(2))
        return await registry.imports.get(job.id)

    job = asyncio.run(run())
    assert job.status == "failed"
    assert "the bucket stopped answering" in job.error
    wait_for_no_parser_thread()
    assert tables(tmp_path) == []


def test_only_a_few_imports_run_at_once(tmp_path):
    async def run():
        datasette, registry, source, file, job = await setup(tmp_path, SlowStorage(pause=0.002))
        db = datasette.get_database("data")
        running = asyncio.Semaphore(2)
        jobs = [job] + [ImportJob(**{**job.__dict__, "id": f"imp-{n}", "table_name": f"t{n}"})
                        for n in range(1, 5)]
        for other in jobs[1:]:
            await registry.imports.create(other)
        tasks = [asyncio.create_task(run_import(registry.imports, source, file, j, db, running))
                 for j in jobs]
        most = 0
        while not all(task.done() for task in tasks):
            # One query: read one by one, a job seen running may be done (and the
            # next one running) by the time the last is read.
            now_running = (await registry.imports.db.execute(
                "SELECT count(*) FROM datasette_files_imports WHERE status = 'running'")).first()[0]
            most = max(most, now_running)
            await asyncio.sleep(0.02)
        return most, [(await registry.imports.get(j.id)) for j in jobs]

    most, statuses = asyncio.run(run())
    assert most == 2
    assert [job.status for job in statuses] == ["done"] * 5, statuses
    assert sorted(tables(tmp_path)) == ["t", "t1", "t2", "t3", "t4"]


CLOSING_LOOP = """
import asyncio, sys
sys.path.insert(0, {tests!r})
from unit.test_csv_import_job import SlowStorage, setup, run_import
from pathlib import Path

async def main():
    datasette, registry, source, file, job = await setup(Path({tmp!r}), SlowStorage(pause=0.05))
    asyncio.ensure_future(run_import(registry.imports, source, file, job,
                                     datasette.get_database("data"), asyncio.Semaphore(2)))
    await asyncio.sleep(1)  # the parser waits for chunks: the loop closes on it

asyncio.run(main())
print("closed")
"""


def test_a_loop_that_closes_mid_import_does_not_hang(tmp_path):
    tests = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", CLOSING_LOOP.format(tests=tests, tmp=str(tmp_path))],
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "closed", result.stderr[-2000:]
