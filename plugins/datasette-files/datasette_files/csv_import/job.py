"""An import job: streams the file from storage to a parsing thread, has
Datasette write each batch of rows, and records the job's progress.

Every write goes through Datasette's write thread for the target database, a
batch per transaction, so the import never holds that database's write lock for
longer than one batch. Memory stays flat whatever the file size: chunks and
batches pass through small bounded hand-overs, and nothing holds the whole file.
At most RUNNING_IMPORTS jobs run at once; the others wait, queued.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Iterator, Optional

from ..clock import now_timestamp
from ..registry import FileRow, ImportJob, ImportsTable
from ..sources import Source
from .load import ImportAborted, NotUTF8, Progress, StagedTable, TableExists, parse_csv

log = logging.getLogger("datasette_files")
QUEUED_CHUNKS = 8
QUEUED_BATCHES = 2
PROGRESS_EVERY_SECONDS = 0.5
RUNNING_IMPORTS = 2
# How often a waiting parser thread looks whether its job was stopped.
STOP_CHECK_SECONDS = 0.5
_END = object()


async def run_import(imports: ImportsTable, source: Source, file: FileRow, job: ImportJob,
                     db, running: asyncio.Semaphore) -> None:
    """Run ``job`` to the end into Datasette database ``db``, recording done or
    failed (and why). ``running`` bounds how many jobs run at once."""
    async with running:
        await _run(imports, source, file, job, db)


async def _run(imports: ImportsTable, source: Source, file: FileRow, job: ImportJob,
               db) -> None:
    await imports.update(job.id, status="running")
    encoding = job.encoding
    try:
        try:
            progress = await _attempt(imports, source, file, job, db, encoding)
        except NotUTF8:
            encoding = "latin-1"
            await imports.update(job.id, encoding=encoding, rows_imported=0, bytes_read=0)
            progress = await _attempt(imports, source, file, job, db, encoding)
    except TableExists:
        await _fail(imports, job.id, f"A table called {job.table_name!r} already "
                    f"exists in {job.database_name!r}; nothing was imported")
        return
    except (ImportAborted, asyncio.CancelledError):
        await _fail(imports, job.id, "The import was stopped; nothing was imported",
                    status="interrupted")
        raise
    except Exception as ex:
        log.info("datasette-files: import %s failed: %s", job.id, ex)
        await _fail(imports, job.id, f"Nothing was imported: {_explain(ex)}")
        return
    message = None
    if progress.ragged_rows:
        lines = ", ".join(map(str, progress.first_ragged_lines))
        more = ", ..." if progress.ragged_rows > len(progress.first_ragged_lines) else ""
        message = (f"{progress.ragged_rows} rows had a different number of cells than the "
                   f"header and were padded or cut (lines {lines}{more})")
    await imports.update(job.id, status="done", rows_imported=progress.rows,
                         ragged_rows=progress.ragged_rows, message=message, encoding=encoding,
                         finished_at=now_timestamp())


async def drop_leftovers(job: ImportJob, db) -> None:
    """Drop the hidden table of a job a stop cut off."""
    await db.execute_write_fn(StagedTable(job.id, job.table_name).drop_hidden)


class ParserThread:
    """The thread that parses one attempt, and its two hand-overs with the event
    loop: file chunks in, batches of rows out. Each is bounded, neither holds a
    thread of the loop's executor, and ``stop()`` ends the thread promptly
    wherever it waits."""

    def __init__(self, encoding: str, delimiter: str, has_header: bool, progress: Progress):
        self._loop = asyncio.get_running_loop()
        self._chunks: queue.SimpleQueue = queue.SimpleQueue()
        self._chunk_slots = asyncio.Semaphore(QUEUED_CHUNKS)
        self._batches: asyncio.Queue = asyncio.Queue()
        self._batch_slots = threading.Semaphore(QUEUED_BATCHES)
        self._stopped = threading.Event()
        self.finished: asyncio.Future = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._parse, args=(encoding, delimiter, has_header, progress),
            name="datasette-files CSV import", daemon=True)
        self._thread.start()

    async def send(self, chunk: bytes) -> None:
        """Hand the parser the file's next chunk, once it has room for it."""
        await self._chunk_slots.acquire()
        self._chunks.put(chunk)

    def end(self) -> None:
        """Every chunk has been sent."""
        self._chunks.put(_END)

    async def next_batch(self) -> Optional[list]:
        """The next batch of rows; None once the parser has ended (see ``finished``)."""
        batch = await self._batches.get()
        if batch is not None:
            self._batch_slots.release()
        return batch

    def stop(self) -> None:
        """End the thread (it raises ImportAborted); its outcome is no longer awaited."""
        self._stopped.set()
        self.finished.add_done_callback(lambda future: future.cancelled() or future.exception())

    def _parse(self, encoding, delimiter, has_header, progress) -> None:
        try:
            parse_csv(self._received_chunks(), self._put_batch, encoding, delimiter,
                      has_header, progress)
        except BaseException as ex:
            self._to_loop(self._settle, ex)
        else:
            self._to_loop(self._settle, None)

    def _received_chunks(self) -> Iterator[bytes]:
        while (chunk := self._next_chunk()) is not _END:
            self._to_loop(self._chunk_slots.release)
            yield chunk

    def _next_chunk(self):
        while not self._stopped.is_set():
            try:
                return self._chunks.get(timeout=STOP_CHECK_SECONDS)
            except queue.Empty:
                continue
        raise ImportAborted("the import was stopped")

    def _put_batch(self, batch: list) -> None:
        while not self._batch_slots.acquire(timeout=STOP_CHECK_SECONDS):
            if self._stopped.is_set():
                raise ImportAborted("the import was stopped")
        self._to_loop(self._batches.put_nowait, batch)

    def _settle(self, error: Optional[BaseException]) -> None:
        self._batches.put_nowait(None)
        if not self.finished.done():
            if error is None:
                self.finished.set_result(None)
            else:
                self.finished.set_exception(error)

    def _to_loop(self, callback, *args) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop has closed: nobody is waiting
            self._stopped.set()


async def _attempt(imports: ImportsTable, source: Source, file: FileRow, job: ImportJob, db,
                   encoding: str) -> Progress:
    table = StagedTable(job.id, job.table_name)
    progress = Progress()
    report = _Reporter(imports, job.id, progress)
    await table.check_name_free(db)
    parser = ParserThread(encoding, job.delimiter, job.has_header, progress)
    feeder = asyncio.create_task(_feed(source, file, parser, report))
    try:
        await _load(db, table, parser, report)
        await feeder
    except BaseException as ex:
        parser.stop()
        feeder.cancel()
        (fed,) = await asyncio.gather(feeder, return_exceptions=True)
        await asyncio.shield(db.execute_write_fn(table.drop_hidden))
        if isinstance(ex, ImportAborted) and isinstance(fed, Exception):
            raise fed from None  # the file could not be read: say why
        raise
    await report(now=True)
    return progress


class _Reporter:
    """Records a job's progress in the registry, at most every PROGRESS_EVERY_SECONDS."""

    def __init__(self, imports: ImportsTable, import_id: str, progress: Progress):
        self.imports, self.import_id, self.progress = imports, import_id, progress
        self.last = time.monotonic()

    async def __call__(self, now: bool = False) -> None:
        if now or time.monotonic() - self.last > PROGRESS_EVERY_SECONDS:
            self.last = time.monotonic()
            await self.imports.update(self.import_id, bytes_read=self.progress.bytes_read,
                                      rows_imported=self.progress.rows)


async def _feed(source: Source, file: FileRow, parser: ParserThread, report: _Reporter) -> None:
    """Stream the file's bytes to the parser; should reading fail, stop it."""
    try:
        async for chunk in source.storage.stream_file(file.path):
            if parser.finished.done():
                return  # the parser stopped early; its error is raised by _load
            await parser.send(chunk)
            report.progress.bytes_read += len(chunk)
            await report()
    except BaseException:
        parser.stop()
        raise
    parser.end()


async def _load(db, table: StagedTable, parser: ParserThread, report: _Reporter) -> None:
    """Write the parser's batches to the staging table, then fill the typed table
    and give it its name: each step one short write."""
    progress = report.progress
    staged = False
    while (batch := await parser.next_batch()) is not None:
        if not staged:
            await db.execute_write_fn(table.create_staging(len(progress.columns)))
            staged = True
        await db.execute_write_fn(table.insert(batch))
        progress.rows += len(batch)
        await report()
    await parser.finished  # raises the parser's error, if it had one
    if not staged:  # a header and no rows
        await db.execute_write_fn(table.create_staging(len(progress.columns)))
    await db.execute_write_fn(table.create_typed(progress.columns, progress.types))
    copy_rows = table.copy_batch_rows()
    for first_row in range(1, progress.rows + 1, copy_rows):
        await db.execute_write_fn(table.copy_typed(progress.columns, first_row, copy_rows))
    await db.execute_write_fn(table.publish)


async def _fail(imports: ImportsTable, import_id: str, error: str, status="failed") -> None:
    await imports.update(import_id, status=status, error=error, finished_at=now_timestamp())


def _explain(ex: Exception) -> str:
    if isinstance(ex, ValueError):
        return str(ex)
    return f"{type(ex).__name__}: {ex}"
