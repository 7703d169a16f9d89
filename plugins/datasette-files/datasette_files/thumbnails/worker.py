"""Runs a generator in a separate, limited process.

Whatever the generator (ours or a plugin's), a hostile file cannot take the
server down or hang it: the child has a memory and CPU-time ceiling and is
killed when it overruns the wall-clock timeout; the server's event loop only
waits on a pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
from typing import Callable, Optional, TypeVar

from ..base import ThumbnailGenerator, ThumbnailResult

T = TypeVar("T")
MEMORY_LIMIT_BYTES = 768 * 1024 * 1024
CPU_SECONDS = 20
WALL_SECONDS = 30

_context = multiprocessing.get_context("forkserver")
# The fork server loads only what generators and text previews need, never the
# server's __main__.
_context.set_forkserver_preload(["datasette_files.base", "datasette_files.thumbnails.pillow",
                                  "datasette_files.previews.render"])


class ThumbnailFailed(Exception):
    """The generator raised, ran out of memory or time, or died."""


class WorkerStopped(Exception):
    """The worker could not start, or was stopped from outside (a shutdown, a
    Ctrl-C): says nothing about the file, so it is tried again later."""


# Signals that stop a worker from outside; any other death is the file's doing.
_STOPPED_BY = {signal.SIGTERM, signal.SIGHUP}


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


def _generate(generator, file_bytes, content_type, filename, width, height):
    return asyncio.run(generator.generate(file_bytes, content_type, filename, width, height))


async def generate_isolated(
    generator: ThumbnailGenerator, file_bytes: bytes, content_type: str, filename: str,
    width: int, height: int, timeout: float = WALL_SECONDS,
) -> Optional[ThumbnailResult]:
    return await run_isolated(
        _generate, generator, file_bytes, content_type, filename, width, height,
        timeout=timeout)


async def run_isolated(function: Callable[..., T], *args, timeout: float = WALL_SECONDS) -> T:
    """``function(*args)`` in a limited worker process: its result, or
    ThumbnailFailed (it raised, overran a limit or died) or WorkerStopped. The
    function and its arguments and result are pickled: a module-level function."""
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
            raise ThumbnailFailed(f"took longer than {timeout:g}s")
        try:
            status, value = await asyncio.to_thread(receiver.recv)
        except EOFError:
            await asyncio.to_thread(process.join, 5)
            if process.exitcode is not None and -process.exitcode in _STOPPED_BY:
                raise WorkerStopped(f"the worker was stopped (exit code {process.exitcode})")
            raise ThumbnailFailed(f"the worker died (exit code {process.exitcode})")
        if status == "error":
            raise ThumbnailFailed(value)
        return value
    finally:
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join, 5)
        receiver.close()
