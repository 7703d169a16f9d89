"""Batched writes: the writes of concurrent requests share one trip through
Datasette's write thread and one commit.

A small upload writes one row or two, and each commit is a disk flush, so
writes submitted in the same turn of the event loop go together, as do those
submitted while a batch commits. Each runs in a savepoint of its own, so one
that fails undoes nothing else. A write may bring a small file to store: every
file of a batch is stored (and synced) before the transaction begins, so a
file is on disk before its row is, and a request makes one trip to a thread.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..base import BatchWrites

WriteFn = Callable[[sqlite3.Connection], Any]
# Datasette reads a write function's signature on every write (for a
# ``track_event`` parameter); a batch's states it ready-made.
_TAKES_CONN = inspect.Signature([inspect.Parameter("conn", inspect.Parameter.POSITIONAL_ONLY)])


@dataclass
class FileToStore:
    """A small file to store before its row is written."""

    storage: BatchWrites
    path: str
    content: bytes


@dataclass
class _Write:
    fn: WriteFn
    file: Optional[FileToStore]
    future: asyncio.Future


class BatchedWrites:
    """Runs write functions ``fn(conn)`` for one Datasette database, in batches."""

    def __init__(self, db):
        self.db = db
        self._waiting: list[_Write] = []
        self._flusher: Optional[asyncio.Task] = None

    async def run(self, fn: WriteFn, *, storing: Optional[FileToStore] = None) -> Any:
        """Run ``fn`` in the next batch; its result, or its exception, once committed.

        ``storing``, if given, is stored first; should that fail, ``fn`` does not
        run and the storage's error is raised.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append(_Write(fn, storing, future))
        if self._flusher is None or self._flusher.done():
            # Starts on the loop's next turn: writes submitted in this one join.
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        batch: list[_Write] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                write_batch = functools.partial(_write_batch, batch)
                write_batch.__signature__ = _TAKES_CONN
                try:
                    outcomes = await self.db.execute_write_fn(write_batch, transaction=False)
                except Exception as ex:  # the transaction itself failed: all of them did
                    outcomes = [(False, ex)] * len(batch)
                for write, (ok, value) in zip(batch, outcomes):
                    _settle(write.future, ok, value)
                batch = []
        finally:
            # Cancelled while a batch was in the write thread: it may still commit,
            # so its writers learn they were cancelled, not that they failed.
            for write in batch + self._waiting:
                write.future.cancel()
            self._waiting = []
            self._flusher = None


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
            errors = storage.write_files_blocking(
                [(batch[i].file.path, batch[i].file.content) for i in indexes])
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
