"""The folders table: every folder of every source, empty ones included, with
the number of files and of folders directly in each (kept by triggers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from ..clock import now_timestamp
from ..errors import ApiError

# How many numbered names ("name (n)") are tried before giving up.
MAX_NUMBERED_NAMES = 10_000
# A folder's name is a directory's name in storage: at most this many UTF-8 bytes.
MAX_NAME_BYTES = 255


def below_sql(column: str, folder: str) -> str:
    """SQL: path ``column`` is below the folder the SQL expression ``folder``
    gives. A range ('0' follows '/'), not LIKE: LIKE ignores ASCII case, so
    'photos/x' was below 'Photos', and a change to one changed the other."""
    return f"({column} > {folder} || '/' AND {column} < {folder} || '0')"


@dataclass
class FolderRow:
    """A folder: ``path`` inside its source ('' is the root)."""

    source_slug: str
    path: str
    parent: str
    name: str
    file_count: int  # files directly in it
    created_at: str
    created_by: Optional[str]
    folder_count: int = 0  # folders directly in it

    @classmethod
    def from_sql(cls, row) -> "FolderRow":
        return cls(*row)


FOLDER_COLUMNS = ("source_slug, path, parent, name, file_count, created_at, created_by, "
                  "folder_count")


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


def ancestors_and_self(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b', 'a/b/c'] (top down); [] for the root."""
    parts = path.split("/") if path else []
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def ensure_folders(conn, source: str, folders: Iterable[str], created_by: Optional[str] = None,
                   now: Optional[str] = None) -> None:
    """Insert each folder and every folder above it that is not there yet (in a
    write function). Top down, so a parent always exists before its child."""
    wanted: dict[str, None] = {}
    for folder in folders:
        for path in ancestors_and_self(folder):
            wanted[path] = None
    if not wanted:
        return
    now = now or now_timestamp()
    conn.executemany(
        "INSERT OR IGNORE INTO datasette_files_folders "
        "(source_slug, path, parent, name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
        [(source, path, parent_of(path), path.rpartition("/")[2], now, created_by)
         for path in sorted(wanted, key=lambda p: p.count("/"))])


def insert_missing_ancestors(conn) -> None:
    """A migration step: the folders above every folder registered so far."""
    rows = conn.execute(
        "SELECT source_slug, path FROM datasette_files_folders WHERE path != ''").fetchall()
    by_source: dict[str, list[str]] = {}
    for source, path in rows:
        by_source.setdefault(source, []).append(path)
    for source, paths in by_source.items():
        ensure_folders(conn, source, paths, now=now_timestamp())


def numbered_folder_name(name: str, n: int) -> str:
    """``name (n)``, ``name`` shortened as much as that needs to fit MAX_NAME_BYTES."""
    suffix = f" ({n})"
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return name.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip() + suffix


class FoldersTable:
    """Queries over ``datasette_files_folders``."""

    def __init__(self, db):
        self.db = db

    async def get(self, source: str, path: str) -> Optional[FolderRow]:
        """The folder at ``path`` ('' is the source's root, which always exists:
        its row comes with its first file or folder)."""
        row = (await self.db.execute(
            f"SELECT {FOLDER_COLUMNS} FROM datasette_files_folders AS f "
            "WHERE source_slug = ? AND path = ?", [source, path])).first()
        if row is None and path == "":
            return FolderRow(source, "", "", "", 0, "", None, 0)
        return FolderRow.from_sql(row) if row else None

    async def children(self, source: str, path: str, limit: int = 1000) -> list[FolderRow]:
        """The folders directly inside ``path``, by name."""
        rows = await self.db.execute(
            f"SELECT {FOLDER_COLUMNS} FROM datasette_files_folders AS f "
            "WHERE source_slug = ? AND parent = ? AND path != '' "
            "ORDER BY name COLLATE NOCASE LIMIT ?", [source, path, limit])
        return [FolderRow.from_sql(row) for row in rows]

    async def named(self, source: str, parent: str, name: str) -> Optional[str]:
        """The path of the folder called ``name`` (any ASCII case) in ``parent``."""
        row = (await self.db.execute(
            "SELECT path FROM datasette_files_folders WHERE source_slug = ? AND parent = ? "
            "AND name = ? COLLATE NOCASE AND path != '' LIMIT 1", [source, parent, name])).first()
        return row[0] if row else None

    async def free_name(self, source: str, parent: str, name: str) -> str:
        """``name``, or its first numbered form ("name (2)") no folder in
        ``parent`` has."""
        candidate = name
        for n in range(1, MAX_NUMBERED_NAMES):
            if await self.named(source, parent, candidate) is None:
                return candidate
            candidate = numbered_folder_name(name, n)
        raise ApiError(f"Too many folders called {name!r} here: choose another name")

    async def deepest_below(self, source: str, path: str) -> int:
        """The bytes the longest folder path below ``path`` adds to it (0 if none)."""
        row = (await self.db.execute(
            "SELECT max(length(CAST(path AS BLOB))) FROM datasette_files_folders AS f "
            f"WHERE source_slug = :source AND {below_sql('path', ':path')}",
            {"source": source, "path": path})).first()
        return row[0] - len(path.encode("utf-8")) if row and row[0] else 0

    async def empty_below(self, source: str, path: str, limit: int,
                          after: str = "") -> list[str]:
        """The folders below ``path`` (the whole source for '') that hold
        neither files nor folders, in path order, after path ``after``: a page
        of a tree's empty ends, which a copy of the tree must make itself."""
        below = below_sql("path", ":path") if path else "path != ''"
        rows = await self.db.execute(
            "SELECT path FROM datasette_files_folders WHERE source_slug = :source "
            f"AND {below} AND path > :after AND file_count = 0 AND folder_count = 0 "
            "ORDER BY path LIMIT :limit",
            {"source": source, "path": path, "after": after, "limit": limit})
        return [row[0] for row in rows]

    async def all_paths(self, source: str, limit: int = 10_000) -> list[str]:
        """Every folder of a source (for a move's folder picker), in path order."""
        rows = await self.db.execute(
            "SELECT path FROM datasette_files_folders WHERE source_slug = ? AND path != '' "
            "ORDER BY path COLLATE NOCASE LIMIT ?", [source, limit])
        return [row[0] for row in rows]

    async def match_storage(self, source: str, found: set[str], unreadable: list[str],
                            started_at: str) -> None:
        """After a sync walked the storage: every folder ``found`` is registered,
        and an empty folder registered before ``started_at`` that the walk did
        not find (nor could have: inside ``unreadable``) goes."""

        def write(conn):
            ensure_folders(conn, source, [path for path in found if path])
            rows = conn.execute(
                "SELECT path FROM datasette_files_folders WHERE source_slug = ? AND path != '' "
                "AND file_count = 0 AND created_at < ?", [source, started_at]).fetchall()
            gone = [path for (path,) in rows if path not in found and not any(
                path == u or path.startswith(u + "/") or not u for u in unreadable)]
            # Deepest first: a folder with a subfolder still registered stays.
            for path in sorted(gone, key=lambda p: -p.count("/")):
                conn.execute(
                    "DELETE FROM datasette_files_folders WHERE source_slug = ? AND path = ? "
                    "AND NOT EXISTS (SELECT 1 FROM datasette_files_folders c "
                    "WHERE c.source_slug = ? AND c.parent = ? AND c.path != '')",
                    [source, path, source, path])

        await self.db.execute_write_fn(write)
