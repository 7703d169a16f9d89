"""Every sort of a folder's listing walks an index, whichever way and from
wherever (the start, an offset, a cursor on a value or on a NULL): no page of
a folder of a million files sorts it, or scans up to a cursor."""

import asyncio
import sqlite3

import pytest

from datasette_files.registry.files import FOLDER_SORTS, FilesTable
from datasette_files.registry.schema import apply_migrations


class PlannedDatabase:
    """A registry database that keeps the query plan of each query it runs."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.plans: list[str] = []

    async def execute(self, sql: str, params=None):
        plan = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params or {}).fetchall()
        # The page's rows are chosen in the subquery (the outer query only
        # reads and orders those few rows): its plan is what must seek.
        subquery = next(row[0] for row in plan if row[3].startswith("LIST SUBQUERY"))
        self.plans.append("\n".join(row[3] for row in plan if row[1] == subquery))
        return self.conn.execute(sql, params or {}).fetchall()


@pytest.fixture(scope="module")
def database():
    conn = sqlite3.connect(":memory:")
    with conn:
        apply_migrations(conn)
        conn.executemany(
            "INSERT INTO datasette_files_files (id, source_slug, path, filename, created_at, "
            "size, content_type, uploaded_by, folder) VALUES (?, 's', ?, ?, ?, ?, ?, ?, '')",
            [(f"df-{n}", f"f{n}", f"f{n}", f"2026-01-0{1 + n % 3} 00:00:00",
              None if n % 5 == 0 else n, None if n % 7 == 0 else "text/plain",
              None if n % 2 else "alice") for n in range(40)])
    return PlannedDatabase(conn)


@pytest.mark.parametrize("sort", FOLDER_SORTS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("start", ["first", "offset", "value", "null"])
def test_a_folder_page_walks_an_index(database, sort, descending, start):
    files = FilesTable(database, None)
    value = {"date": 30, "name": "f3", "size": 3, "type": "text/plain",
             "modified": 1767225600 * 10**9, "uploader": "alice"}[sort]
    options = {"first": {}, "offset": {"offset": 10}, "value": {"after": (value, 30)},
               "null": {"after": (None, 30)}}[start]
    database.plans.clear()
    rows = asyncio.run(files.list_source("s", sort, descending, 5, only_folder="", **options))
    if start == "null" and not FOLDER_SORTS[sort].nullable:
        assert rows == [] and database.plans == []  # no file has a NULL there
        return
    assert rows and database.plans
    for plan in database.plans:
        assert "TEMP B-TREE" not in plan, plan
        # Modified is an expression of two columns the index does not hold:
        # SQLite (before 3.41) calls that index not covering, yet steps over
        # its entries without reading the rows it skips.
        covering = "" if sort == "modified" else "COVERING "
        assert plan.startswith(f"SEARCH datasette_files_files USING {covering}INDEX "
                               "datasette_files_files_") and "\n" not in plan, plan
