"""Each actor's choices of how the pages look (the listing's Grid or List)."""

from __future__ import annotations

from ..clock import now_timestamp


class PreferencesTable:
    """Queries over ``datasette_files_preferences``: (actor, name) -> value."""

    def __init__(self, db):
        self.db = db

    async def of(self, actor_id: str) -> dict[str, str]:
        """The actor's preferences by name ({} for none)."""
        rows = await self.db.execute(
            "SELECT name, value FROM datasette_files_preferences WHERE actor_id = ?",
            [actor_id])
        return {row[0]: row[1] for row in rows}

    async def set(self, actor_id: str, preferences: dict[str, str]) -> dict[str, str]:
        """Record ``preferences`` (others kept); all of the actor's, as now."""
        updated_at = now_timestamp()
        rows = [(actor_id, name, value, updated_at) for name, value in preferences.items()]

        def write(conn):
            conn.executemany(
                "INSERT INTO datasette_files_preferences (actor_id, name, value, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (actor_id, name) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at", rows)

        await self.db.execute_write_fn(write)
        return await self.of(actor_id)
