"""The journal of storage changes in flight: written before a change touches
storage, marked committed in the same transaction as the registry's side of
it, and forgotten once what it left to clean up is gone. A start after a crash
finds every entry still there: one not committed is undone, one committed is
finished (``organise.changes``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from ..clock import now_timestamp

PENDING = "pending"
COMMITTED = "committed"


@dataclass
class JournalEntry:
    """One change: its storage ``steps`` (undone in reverse if it never
    committed) and the ``cleanup`` left to do once it has."""

    id: int
    state: str
    steps: list
    cleanup: list

    @classmethod
    def from_sql(cls, row) -> "JournalEntry":
        return cls(row[0], row[1], json.loads(row[2]), json.loads(row[3]))


class JournalTable:
    """Queries over ``datasette_files_journal``."""

    def __init__(self, db):
        self.db = db

    async def begin(self, steps: list, cleanup: list) -> int:
        """Record a change about to touch storage; its id."""
        return await self.db.execute_write_fn(lambda conn: conn.execute(
            "INSERT INTO datasette_files_journal (state, steps, cleanup, created_at) "
            "VALUES (?, ?, ?, ?)",
            [PENDING, json.dumps(steps), json.dumps(cleanup), now_timestamp()]).lastrowid)

    @staticmethod
    def commit_in(conn, entry_id: int, cleanup: Optional[list] = None) -> None:
        """Inside the change's registry transaction: its storage steps stand,
        with ``cleanup`` (if given, else the one recorded) left to do."""
        if cleanup is None:
            conn.execute("UPDATE datasette_files_journal SET state = ? WHERE id = ?",
                         [COMMITTED, entry_id])
        else:
            conn.execute("UPDATE datasette_files_journal SET state = ?, cleanup = ? "
                         "WHERE id = ?", [COMMITTED, json.dumps(cleanup), entry_id])

    async def forget(self, entry_id: int) -> None:
        await self.db.execute_write(
            "DELETE FROM datasette_files_journal WHERE id = ?", [entry_id])

    async def state_of(self, entry_id: int) -> Optional[str]:
        """PENDING or COMMITTED; None once forgotten."""
        row = (await self.db.execute(
            "SELECT state FROM datasette_files_journal WHERE id = ?", [entry_id])).first()
        return row[0] if row else None

    async def unfinished(self) -> list[JournalEntry]:
        rows = await self.db.execute(
            "SELECT id, state, steps, cleanup FROM datasette_files_journal ORDER BY id")
        return [JournalEntry.from_sql(row) for row in rows]

    async def paths_in_flight(self, source: str) -> set[str]:
        """Storage paths of ``source`` that a change in flight is writing to:
        sync leaves them alone."""
        paths = set()
        for entry in await self.unfinished():
            for step in entry.steps:
                if step[0] == "copy" and step[3] == source:
                    paths.add(step[4])
                elif step[0] in ("move", "move_folder") and step[1] == source:
                    paths.update(step[2:4])
        return paths
