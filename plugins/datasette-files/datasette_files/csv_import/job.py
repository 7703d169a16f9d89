"""An import job: streams the file from storage to the parsing thread, has
Datasette write each batch of rows, and records the job's progress.

Every write goes through Datasette's write thread for the target database, a
batch per transaction, so the import never holds that database's write lock for
longer than one batch. Memory stays flat whatever the file size: chunks and
batches pass through small bounded queues, and nothing holds the whole file.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time

from ..clock import now_timestamp
from ..registry import FileRow, ImportJob, ImportsTable
from ..sources import Source
from .load import (
    ABORT, END, HAND_OVER_SECONDS, ImportAborted, NotUTF8, Progress, StagedTable,
    TableExists, parse_csv)

log = logging.getLogger("datasette_files")
QUEUED_CHUNKS = 8
QUEUED_BATCHES = 2
PROGRESS_EVERY_SECONDS = 0.5


async def run_import(imports: ImportsTable, source: Source, file: FileRow, job: ImportJob,
                     db) -> None:
    """Run ``job`` to the end into Datasette database ``db``, recording done or
    failed (and why)."""
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
    """Drop the hidden tables of a job a stop cut off."""
    await db.execute_write_fn(StagedTable(job.id, job.table_name).drop_hidden)


async def _attempt(imports: ImportsTable, source: Source, file: FileRow, job: ImportJob, db,
                   encoding: str) -> Progress:
    table = StagedTable(job.id, job.table_name)
    chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
    batches: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
    stop = threading.Event()
    progress = Progress()
    await table.check_name_free(db)
    parser = asyncio.create_task(asyncio.to_thread(
        parse_csv, chunks, batches, stop, encoding, job.delimiter, job.has_header, progress))
    report = _Reporter(imports, job.id, progress)
    feeder = asyncio.create_task(_feed(source, file, chunks, parser, report))
    try:
        await _load(db, table, batches, parser, report)
        await feeder
    except BaseException:
        stop.set()
        feeder.cancel()
        await asyncio.gather(feeder, parser, return_exceptions=True)
        await asyncio.shield(db.execute_write_fn(table.drop_hidden))
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


async def _feed(source: Source, file: FileRow, chunks: queue.Queue, parser: asyncio.Task,
                report: _Reporter) -> None:
    """Stream the file's bytes to the parser."""
    finished = False
    try:
        async for chunk in source.storage.stream_file(file.path):
            if not await _hand_over(chunks, chunk, parser):
                return  # the parser stopped early; its error is raised elsewhere
            report.progress.bytes_read += len(chunk)
            await report()
        finished = True
    finally:
        await _hand_over(chunks, END if finished else ABORT, parser)


async def _load(db, table: StagedTable, batches: queue.Queue, parser: asyncio.Task,
                report: _Reporter) -> None:
    """Write the parser's batches to the staging table, then fill the typed table
    and give it its name: each step one short write."""
    progress = report.progress
    staged = False
    while (batch := await _take(batches, parser)) is not None:
        if not staged:
            await db.execute_write_fn(table.create_staging(len(progress.columns)))
            staged = True
        await db.execute_write_fn(table.insert(batch))
        progress.rows += len(batch)
        await report()
    await parser  # raises the parser's error, if it had one
    if not staged:  # a header and no rows
        await db.execute_write_fn(table.create_staging(len(progress.columns)))
    await db.execute_write_fn(table.create_typed(progress.columns, progress.types))
    copy_rows = table.copy_batch_rows()
    for first_row in range(1, progress.rows + 1, copy_rows):
        await db.execute_write_fn(table.copy_typed(progress.columns, first_row, copy_rows))
    await db.execute_write_fn(table.publish)


async def _take(batches: queue.Queue, parser: asyncio.Task):
    """The next batch of rows; None once the parser has finished and sent them all."""
    while True:
        try:
            return await asyncio.to_thread(batches.get, True, HAND_OVER_SECONDS)
        except queue.Empty:
            if parser.done() and batches.empty():
                return None


async def _hand_over(chunks: queue.Queue, item, parser: asyncio.Task) -> bool:
    """Queue ``item`` for the parser; False if the parser has stopped taking them."""
    while not parser.done():
        try:
            await asyncio.to_thread(chunks.put, item, True, HAND_OVER_SECONDS)
            return True
        except queue.Full:
            continue
    return False


async def _fail(imports: ImportsTable, import_id: str, error: str, status="failed") -> None:
    await imports.update(import_id, status=status, error=error, finished_at=now_timestamp())


def _explain(ex: Exception) -> str:
    if isinstance(ex, ValueError):
        return str(ex)
    return f"{type(ex).__name__}: {ex}"
