"""An import job: streams the file from storage to the loading thread and
records its progress in the registry.

Memory stays flat whatever the file size: chunks pass through a small bounded
queue, rows are inserted in batches, and nothing holds the whole file.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time

from ..files import format_timestamp, utc_now
from .load import ABORT, END, ImportAborted, NotUTF8, Progress, TableExists, load_csv

log = logging.getLogger("datasette_files")
QUEUED_CHUNKS = 8
PROGRESS_EVERY_SECONDS = 0.5


async def run_import(registry, source, file_row: dict, job: dict, db_path: str) -> None:
    """Run ``job`` to the end, recording done or failed (and why)."""
    import_id = job["id"]
    await registry.update_import(import_id, status="running")
    encoding = job["encoding"]
    try:
        try:
            progress = await _attempt(registry, source, file_row, job, db_path, encoding)
        except NotUTF8:
            encoding = "latin-1"
            await registry.update_import(import_id, encoding=encoding, rows_imported=0,
                                         bytes_read=0)
            progress = await _attempt(registry, source, file_row, job, db_path, encoding)
    except TableExists:
        await _fail(registry, import_id, f"A table called {job['table_name']!r} already "
                    f"exists in {job['database_name']!r}; nothing was imported")
        return
    except (ImportAborted, asyncio.CancelledError):
        await _fail(registry, import_id, "The import was stopped; nothing was imported",
                    status="interrupted")
        raise
    except Exception as ex:
        log.info("datasette-files: import %s failed: %s", import_id, ex)
        await _fail(registry, import_id, f"Nothing was imported: {_explain(ex)}")
        return
    message = None
    if progress.ragged_rows:
        lines = ", ".join(map(str, progress.first_ragged_lines))
        message = (f"{progress.ragged_rows} rows had a different number of cells than the "
                   f"header and were padded or cut (lines {lines}"
                   f"{', ...' if progress.ragged_rows > len(progress.first_ragged_lines) else ''})")
    await registry.update_import(
        import_id, status="done", rows_imported=progress.rows,
        ragged_rows=progress.ragged_rows, message=message, encoding=encoding,
        finished_at=format_timestamp(utc_now()))


async def _attempt(registry, source, file_row, job, db_path, encoding) -> Progress:
    chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
    progress = Progress()
    loader = asyncio.create_task(asyncio.to_thread(
        load_csv, db_path, job["table_name"], chunks, encoding, job["delimiter"],
        bool(job["has_header"]), progress))
    bytes_read, last_report = 0, time.monotonic()
    finished = False
    try:
        async for chunk in source.storage.stream_file(file_row["path"]):
            if not await _hand_over(chunks, chunk, loader):
                break  # the loader stopped early; its error is raised below
            bytes_read += len(chunk)
            if time.monotonic() - last_report > PROGRESS_EVERY_SECONDS:
                last_report = time.monotonic()
                await registry.update_import(job["id"], bytes_read=bytes_read,
                                             rows_imported=progress.rows)
        finished = True
    finally:
        await _hand_over(chunks, END if finished else ABORT, loader)
    await loader
    await registry.update_import(job["id"], bytes_read=bytes_read, rows_imported=progress.rows)
    return progress


async def _hand_over(chunks: queue.Queue, item, loader: asyncio.Task) -> bool:
    """Queue ``item`` for the loader; False if the loader has stopped taking them."""
    while not loader.done():
        try:
            await asyncio.to_thread(chunks.put, item, True, 0.2)
            return True
        except queue.Full:
            continue
    return False


async def _fail(registry, import_id, error, status="failed") -> None:
    await registry.update_import(import_id, status=status, error=error,
                                 finished_at=format_timestamp(utc_now()))


def _explain(ex: Exception) -> str:
    if isinstance(ex, ValueError):
        return str(ex)
    return f"{type(ex).__name__}: {ex}"
