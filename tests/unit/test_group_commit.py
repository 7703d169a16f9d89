"""Group commit: concurrent writes share transactions, and one failing write
does not undo the others."""

import asyncio
import sqlite3

from datasette.app import Datasette

from datasette_files.group_commit import GroupCommit


def test_concurrent_writes_are_batched_and_isolated(tmp_path):
    path = tmp_path / "data.db"
    sqlite3.connect(path).execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")

    async def run():
        datasette = Datasette([str(path)])
        db = datasette.get_database("data")
        group = GroupCommit(db)
        transactions = []
        original = db.execute_write_fn

        async def counting(fn, **kwargs):
            transactions.append(fn)
            return await original(fn, **kwargs)

        db.execute_write_fn = counting

        def insert(n):
            return lambda conn: conn.execute("INSERT INTO t (n) VALUES (?)", [n]).lastrowid

        # Twenty writes and a duplicate, all waiting when the flush starts: one batch.
        results = await asyncio.gather(*[group.run(insert(n)) for n in range(1, 21)],
                                       group.run(insert(5)), return_exceptions=True)
        rows = [row[0] for row in (await db.execute("SELECT n FROM t ORDER BY n")).rows]
        return results, rows, len(transactions)

    results, rows, transactions = asyncio.run(run())
    assert results[:20] == list(range(1, 21))
    assert isinstance(results[20], sqlite3.IntegrityError)
    assert rows == list(range(1, 21))
    assert transactions == 1
