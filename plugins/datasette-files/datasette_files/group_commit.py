"""Group commit: small writes from concurrent requests share one transaction.

Every write through Datasette costs a trip to its write thread, its write
hooks and a commit (an fsync). When uploads arrive together, their one-row
writes queue up behind each other; batching the ones that are waiting into one
transaction pays those costs once per batch instead of once per write. A
request's write still commits before its response, and each write runs in
its own savepoint, so one that fails does not undo the others.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable


class GroupCommit:
    """Runs write functions ``fn(conn)`` in batched transactions on ``db``."""

    def __init__(self, db):
        self.db = db
        self._waiting: list[tuple[Callable, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def run(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn`` in the next batch; its result, or its exception, once committed."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((fn, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        # Writes that arrive while a batch commits form the next batch.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                outcomes = await self.db.execute_write_fn(
                    lambda conn: [_in_savepoint(conn, fn) for fn, _ in batch])
            except Exception as ex:  # the transaction itself failed: all of them did
                outcomes = [(False, ex)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes):
                if future.done():  # its request went away meanwhile
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def _in_savepoint(conn, fn) -> tuple[bool, Any]:
    conn.execute("SAVEPOINT group_commit")
    try:
        result = fn(conn)
    except Exception as ex:
        conn.execute("ROLLBACK TO group_commit")
        conn.execute("RELEASE group_commit")
        return False, ex
    conn.execute("RELEASE group_commit")
    return True, result
