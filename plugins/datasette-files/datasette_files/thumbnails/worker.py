"""Runs a job (a thumbnail generator, a PDF page render) in a separate, limited process.

Whatever the job (ours or a plugin's generator), a hostile file cannot take
the server down or hang it: the child has a memory and CPU-time ceiling and is
killed when it overruns the wall-clock timeout; the server's event loop only
waits on a pipe. ``WorkerSlots`` bounds how many children run at once, shared
by every kind of job, and how many refusable jobs may wait for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import signal
from typing import AsyncIterator, Callable, Optional

from ..base import ThumbnailGenerator, ThumbnailResult
from ..errors import ApiError

MEMORY_LIMIT_BYTES = 768 * 1024 * 1024
CPU_SECONDS = 20
WALL_SECONDS = 30
# Workers running at once, whatever their job (thumbnails and PDF pages share them).
RUNNING_WORKERS = 2
# Jobs that may be refused (a page a browser asked for) which may wait or run
# at once; more are answered 503 at once instead of queueing without bound.
QUEUED_JOBS = 8
RETRY_AFTER_SECONDS = 2

_context = multiprocessing.get_context("forkserver")
# The fork server loads only what jobs need, never the server's __main__; the
# server itself never imports pypdfium2 (a missing module is skipped here).
_context.set_forkserver_preload([
    "datasette_files.base", "datasette_files.thumbnails.pillow",
    "datasette_files.thumbnails.pdf", "pypdfium2", "datasette_files.previews.render"])


class WorkFailed(Exception):
    """The job raised, ran out of memory or time, or died."""


# The name the thumbnail service has always used.
ThumbnailFailed = WorkFailed


class WorkerStopped(Exception):
    """The worker could not start, or was stopped from outside (a shutdown, a
    Ctrl-C): says nothing about the file, so it is tried again later."""


class WorkerBusy(ApiError):
    """Every place in the workers' queue is taken: try again shortly."""

    status = 503


# Signals that stop a worker from outside; any other death is the file's doing.
_STOPPED_BY = {signal.SIGTERM, signal.SIGHUP}


class WorkerSlots:
    """How many workers run at once (``running``), and how many refusable jobs
    may be queued or running (``queued``)."""

    def __init__(self, running: int = RUNNING_WORKERS, queued: int = QUEUED_JOBS):
        self._running = asyncio.Semaphore(running)
        self.queued_limit = queued
        self.queued = 0

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """A place in the queue, held until the job is done; WorkerBusy (503)
        when every place is taken."""
        if self.queued >= self.queued_limit:
            raise WorkerBusy(f"{self.queued_limit} renders are queued: try again shortly",
                             retry_after=RETRY_AFTER_SECONDS)
        self.queued += 1
        try:
            yield
        finally:
            self.queued -= 1

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """One of the running workers, waited for."""
        async with self._running:
            yield


def _child(conn, function, args):
    # The server decides when a worker stops: Ctrl-C reaches the whole process
    # group, and would otherwise end a job with a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    try:
        outcome = ("ok", function(*args))
    except MemoryError:
        outcome = ("error", "ran out of memory")
    except BaseException as ex:  # report anything; the process ends either way
        outcome = ("error", f"{type(ex).__name__}: {ex}"[:500])
    try:
        conn.send(outcome)
    except OSError:
        pass  # the server stopped waiting (timeout or shutdown)
    finally:
        conn.close()


async def run_isolated(function: Callable, *args, timeout: float = WALL_SECONDS):
    """``function(*args)`` in a limited child process; what it returns (both
    must pickle: ``function`` a module-level function). WorkFailed when it
    raised, died or overran; WorkerStopped when stopped from outside."""
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(target=_child, args=(sender, function, args), daemon=True)
    try:
        await asyncio.to_thread(process.start)
    except (OSError, EOFError) as ex:  # the fork server is gone: shutting down
        receiver.close()
        raise WorkerStopped(f"the worker could not start: {ex!r}") from None
    finally:
        sender.close()
    try:
        ready = await asyncio.to_thread(receiver.poll, timeout)
        if not ready:
            raise WorkFailed(f"took longer than {timeout:g}s")
        try:
            status, value = await asyncio.to_thread(receiver.recv)
        except EOFError:
            await asyncio.to_thread(process.join, 5)
            if process.exitcode is not None and -process.exitcode in _STOPPED_BY:
                raise WorkerStopped(f"the worker was stopped (exit code {process.exitcode})")
            raise WorkFailed(f"the worker died (exit code {process.exitcode})")
        if status == "error":
            raise WorkFailed(value)
        return value
    finally:
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join, 5)
        receiver.close()


def _generate(generator: ThumbnailGenerator, file_bytes: bytes, content_type: str,
              filename: str, width: int, height: int) -> Optional[ThumbnailResult]:
    return asyncio.run(generator.generate(file_bytes, content_type, filename, width, height))


async def generate_isolated(
    generator: ThumbnailGenerator, file_bytes: bytes, content_type: str, filename: str,
    width: int, height: int, timeout: float = WALL_SECONDS,
) -> Optional[ThumbnailResult]:
    """A generator's thumbnail, made in a limited worker."""
    return await run_isolated(_generate, generator, file_bytes, content_type, filename,
                              width, height, timeout=timeout)
