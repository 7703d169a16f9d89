"""Batched writes: the writes of concurrent requests share one trip through
Datasette's write thread and one commit.

A small upload writes one row or two, and each commit is a disk flush, so
writes go together: a write asks Datasette's write thread for a turn (unless
one is already asked for), and when the turn comes, it takes every write that
is waiting by then, those that arrived while the last batch committed
included. Each runs in a savepoint of its own, so one that fails undoes
nothing else, and each learns its outcome from the write thread directly. A
write may bring a small file to store: every file of a batch is stored (and
synced) before the transaction begins, so a file is on disk before its row is,
and a request makes one trip to a thread.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..base import BatchWrites, FileRecord, FileRecords

log = logging.getLogger("datasette_files")
WriteFn = Callable[[sqlite3.Connection], Any]
# Datasette reads a write function's signature on every write (for a
# ``track_event`` parameter); a turn's states it ready-made.
_TAKES_CONN = inspect.Signature([inspect.Parameter("conn", inspect.Parameter.POSITIONAL_ONLY)])


@dataclass
class FileToStore:
    """A small file to store before its row is written."""

    storage: BatchWrites
    path: str
    content: bytes
    record: Optional[FileRecord] = None  # kept beside the bytes by storages that can


@dataclass
class _Write:
    fn: WriteFn
    file: Optional[FileToStore]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class BatchedWrites:
    """Runs write functions ``fn(conn)`` for one Datasette database, in batches."""

    def __init__(self, db):
        self.db = db
        self._lock = threading.Lock()  # the waiting list is taken in the write thread
        self._waiting: list[_Write] = []
        self._turn_asked = False
        self._turns: set[asyncio.Task] = set()

    async def run(self, fn: WriteFn, *, storing: Optional[FileToStore] = None) -> Any:
        """Run ``fn`` in the next batch; its result, or its exception, once committed.

        ``storing``, if given, is stored first; should that fail, ``fn`` does not
        run and the storage's error is raised. Cancelled while its batch is in
        the write thread, the write may still commit.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._waiting.append(_Write(fn, storing, future, loop))
            ask = not self._turn_asked
            self._turn_asked = True
        if ask:
            self._ask_for_turn(loop)
        return await future

    def _ask_for_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        turn = _Turn()
        take = functools.partial(self._take_turn, turn)
        take.__signature__ = _TAKES_CONN
        task = loop.create_task(self.db.execute_write_fn(take, transaction=False))
        self._turns.add(task)
        task.add_done_callback(functools.partial(self._turn_ended, turn))

    def _take_turn(self, turn: "_Turn", conn: sqlite3.Connection) -> None:
        """In the write thread: every write waiting now, in one batch."""
        turn.taken = True
        with self._lock:
            batch, self._waiting = self._waiting, []
            self._turn_asked = False  # a write from now on asks for a turn of its own
        try:
            outcomes = _write_batch(batch, conn)
        except Exception as ex:  # the transaction itself failed: all of them did
            outcomes = [(False, ex)] * len(batch)
        _settle_from_thread(batch, outcomes)

    def _turn_ended(self, turn: "_Turn", task: asyncio.Task) -> None:
        self._turns.discard(task)
        if task.cancelled() or task.exception() is None or turn.taken:
            return  # the writes it took have their outcomes
        # Datasette could not give the turn (it is closing, say): the writes that
        # waited for it learn why, and the next write asks again.
        with self._lock:
            stranded, self._waiting = self._waiting, []
            self._turn_asked = False
        _settle_from_thread(stranded, [(False, task.exception())] * len(stranded))


class _Turn:
    """One turn asked of Datasette's write thread; ``taken`` once it ran."""

    taken = False


def _settle_from_thread(batch: list[_Write], outcomes: list[tuple[bool, Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for write, outcome in zip(batch, outcomes):
        by_loop.setdefault(write.loop, []).append((write.future, outcome))
    for loop, settlements in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_all, settlements)
        except RuntimeError:  # that loop has closed: nobody is waiting
            pass


def _settle_all(settlements) -> None:
    for future, (ok, value) in settlements:
        _settle(future, ok, value)


def _settle(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.done():  # its request went away meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _write_batch(batch: list[_Write], conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
    """In the write thread: store the batch's files, then run the writes whose
    files were stored in one transaction; (ok, result or exception) each."""
    outcomes: list[Optional[tuple[bool, Any]]] = [None] * len(batch)
    by_storage: dict[int, list[int]] = {}
    for index, write in enumerate(batch):
        if write.file is not None:
            by_storage.setdefault(id(write.file.storage), []).append(index)
    for indexes in by_storage.values():
        storage = batch[indexes[0]].file.storage
        try:
            files = [(batch[i].file.path, batch[i].file.content) for i in indexes]
            if isinstance(storage, FileRecords):
                errors = storage.write_files_blocking(
                    files, records=[batch[i].file.record for i in indexes])
            else:
                errors = storage.write_files_blocking(files)
            if len(errors) != len(indexes):
                raise ValueError(f"{type(storage).__name__}.write_files_blocking answered "
                                 f"{len(errors)} outcomes for {len(indexes)} files")
        except Exception as ex:
            errors = [ex] * len(indexes)
        for index, error in zip(indexes, errors):
            if error is not None:
                outcomes[index] = (False, error)
    pending = [index for index, outcome in enumerate(outcomes) if outcome is None]
    if pending:
        for index, outcome in zip(pending, _in_transaction(conn, [batch[i].fn for i in pending])):
            outcomes[index] = outcome
    return outcomes


def _in_transaction(conn: sqlite3.Connection, fns: list[WriteFn]) -> list[tuple[bool, Any]]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = [_in_savepoint(conn, fn) for fn in fns]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _in_savepoint(conn: sqlite3.Connection, fn: WriteFn) -> tuple[bool, Any]:
    conn.execute("SAVEPOINT batched_write")
    try:
        result = fn(conn)
    except Exception as ex:
        conn.execute("ROLLBACK TO batched_write")
        conn.execute("RELEASE batched_write")
        return False, ex
    conn.execute("RELEASE batched_write")
    return True, result
