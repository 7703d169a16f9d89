"""Changes that touch storage and the registry, made crash-safe by the journal.

A change is a list of storage steps (moves, copies) and a registry write.
The steps are recorded, then made; the registry write and the journal's
"committed" mark commit together; then what the change leaves behind (the
source copy of a move across sources, bytes purged from the trash) is
removed and the record forgotten. Until the commit, the registry points at
the bytes where they were; after it, where they are now. A start after a
crash undoes every step of a change that did not commit (a copy is removed,
a move moved back) and finishes the cleanup of one that did.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any, Callable

from ..base import FileMissing, FileRecord, FileRecords, Moves, PathTaken
from ..registry import Registry
from ..registry.journal import COMMITTED, JournalTable
from ..sources import Sources

log = logging.getLogger("datasette_files")
# Tests name a point here to have the server killed (SIGKILL) when it gets
# there, as a crash would: "journaled", "step-1", "step-2", ..., "committed".
CRASH_AT_VARIABLE = "DATASETTE_FILES_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


async def apply(registry: Registry, sources: Sources, steps: list, write: Callable[[Any], Any],
                cleanup: list | None = None) -> Any:
    """Make ``steps`` in storage, then run ``write(conn)`` in one registry
    transaction with the journal's commit; then do ``cleanup``. Returns what
    ``write`` returned. If a step or the write fails, the steps made are
    undone and the error is raised."""
    journal = registry.journal
    entry_id = await journal.begin(steps, cleanup or [])
    crash_point("journaled")
    made = []
    try:
        for number, step in enumerate(steps, 1):
            await _make(sources, step)
            made.append(step)
            crash_point(f"step-{number}")

        def commit(conn):
            result = write(conn)
            JournalTable.commit_in(conn, entry_id)
            return result

        result = await registry.db.execute_write_fn(commit)
    except BaseException:
        # Cancelled while the write thread ran it, the write may have committed:
        # then the steps stand, and only the cleanup is left.
        if await asyncio.shield(journal.state_of(entry_id)) == COMMITTED:
            await asyncio.shield(_finish(registry, sources, entry_id, cleanup or []))
        else:
            await asyncio.shield(_undo_and_forget(registry, sources, entry_id, made))
        raise
    crash_point("committed")
    await _finish(registry, sources, entry_id, cleanup or [])
    return result


async def recover(registry: Registry, sources: Sources) -> int:
    """At start-up: undo every change the journal holds that never committed,
    finish the cleanup of every one that did. How many there were."""
    entries = await registry.journal.unfinished()
    for entry in entries:
        if entry.state == COMMITTED:
            await _finish(registry, sources, entry.id, entry.cleanup)
        else:
            await _undo_and_forget(registry, sources, entry.id, entry.steps)
    if entries:
        log.warning("datasette-files: finished %d change(s) a stop had cut short", len(entries))
    return len(entries)


async def _make(sources: Sources, step: list) -> None:
    kind = step[0]
    if kind == "move":
        record = FileRecord(*step[4]) if len(step) > 4 and step[4] else None
        await sources.get(step[1]).storage.move_file(step[2], step[3], record=record)
    elif kind == "move_folder":
        await sources.get(step[1]).storage.move_folder(step[2], step[3])
    elif kind == "copy":
        record = FileRecord(*step[5]) if len(step) > 5 and step[5] else None
        await copy_file(sources.get(step[1]), step[2], sources.get(step[3]), step[4], record)
    else:
        raise ValueError(f"unknown step {kind!r}")


async def copy_file(source, path: str, destination, new_path: str, record=None) -> None:
    """Stream the bytes at ``path`` of ``source`` to ``new_path`` of
    ``destination`` (which stores them durably, as an upload)."""
    stream = source.storage.stream_file(path)
    content_type = "application/octet-stream"
    try:
        if record is not None and isinstance(destination.storage, FileRecords):
            await destination.storage.receive_upload(new_path, stream, content_type,
                                                     record=record)
        else:
            await destination.storage.receive_upload(new_path, stream, content_type)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def _undo_and_forget(registry: Registry, sources: Sources, entry_id: int,
                           steps: list) -> None:
    """Undo ``steps``, newest first; the entry is forgotten only once all are
    undone, else the next start tries again (each undo may run twice)."""
    undone = True
    for step in reversed(steps):
        try:
            await _undo(sources, step)
        except Exception:
            undone = False
            log.exception("datasette-files: could not undo %s (tried again at the next start)",
                          step)
    if undone:
        await registry.journal.forget(entry_id)


async def _finish(registry: Registry, sources: Sources, entry_id: int, cleanup: list) -> None:
    """Do a committed change's cleanup; forget it once all of it is done."""
    if await _clean_up(sources, cleanup):
        await registry.journal.forget(entry_id)


async def _undo(sources: Sources, step: list) -> None:
    kind = step[0]
    if kind in ("move", "move_folder"):
        storage = sources.get(step[1]).storage
        try:
            if kind == "move":
                await storage.move_file(step[3], step[2])
            else:
                await storage.move_folder(step[3], step[2])
        except (FileMissing, PathTaken):
            pass  # never made, or undone already
    elif kind == "copy":
        try:
            await sources.get(step[3]).storage.delete_file(step[4])
        except FileNotFoundError:
            pass


async def _clean_up(sources: Sources, cleanup: list) -> bool:
    """Remove what a committed change left behind; whether all of it went (a
    file already gone counts as gone)."""
    done = True
    for task in cleanup:
        try:
            storage = sources.get(task[1]).storage
            if task[0] == "delete":
                await storage.delete_file(task[2])
            elif task[0] == "remove_folder" and hasattr(storage, "remove_empty_folder"):
                await storage.remove_empty_folder(task[2])
        except FileNotFoundError:
            continue
        except Exception:
            done = False
            log.exception("datasette-files: could not clean up %s (tried again at the next "
                          "start)", task)
    return done


def moves_bytes(source) -> bool:
    """Whether the source's storage keeps folders as its paths say (Moves)."""
    return isinstance(source.storage, Moves)
