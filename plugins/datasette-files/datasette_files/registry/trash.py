"""The trash: items (a file, or a folder with everything in it) and the rows
of the files they hold, kept out of the files table so that listings, search,
batch.json and get_file never see them; and the transactions that move rows
in and out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..naming import new_file_id
from .folders import ensure_folders
from .rows import FILE_COLUMN_NAMES, FileRow

if TYPE_CHECKING:
    from .files import AllowedSQL

# Every column a file's row has, as the trash keeps it.
_COLUMNS = ", ".join([*FILE_COLUMN_NAMES, "hash_retry_at"])
_ITEM_COLUMNS = ("id, kind, source_slug, name, folder, stored_at, subfolders, files, size, "
                 "trashed_at, trashed_by")


@dataclass
class TrashItem:
    """A file or a folder in the trash. ``folder`` is where it was; ``stored_at``
    the storage path it is under now (the file's own path, or the folder's)."""

    id: str
    kind: str  # "file" or "folder"
    source_slug: str
    name: str
    folder: str
    stored_at: str
    subfolders: list = field(default_factory=list)  # a folder's, relative to it
    files: int = 0
    size: int = 0
    trashed_at: str = ""
    trashed_by: Optional[str] = None
    file: Optional[FileRow] = None  # the file of a file item, as it was

    @classmethod
    def from_sql(cls, row) -> "TrashItem":
        values = list(row)
        values[6] = json.loads(values[6] or "[]")
        return cls(*values)


class TrashTable:
    """Queries over the trash tables."""

    def __init__(self, db):
        self.db = db

    async def items(self, source: str, *, limit: int, before: Optional[tuple] = None,
                    owner: Optional[str] = None) -> list[TrashItem]:
        """Items of ``source``, newest first, after ``before`` (trashed_at, id) of a
        previous page; only those whose every file ``owner`` uploaded, if given."""
        where, params = ["source_slug = :source"], {"source": source, "limit": limit}
        if before is not None:
            where.append("(trashed_at, id) < (:at, :id)")
            params.update(at=before[0], id=before[1])
        if owner is not None:
            where.append("kind = 'file' AND NOT EXISTS (SELECT 1 FROM datasette_files_trash t "
                         "WHERE t.item_id = i.id AND t.uploaded_by IS NOT :owner)")
            params["owner"] = owner
        rows = await self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM datasette_files_trash_items i "
            f"WHERE {' AND '.join(where)} ORDER BY trashed_at DESC, id DESC LIMIT :limit",
            params)
        items = [TrashItem.from_sql(row) for row in rows]
        await self._attach_files(items)
        return items

    async def get(self, item_id: str) -> Optional[TrashItem]:
        row = (await self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM datasette_files_trash_items WHERE id = ?",
            [item_id])).first()
        if row is None:
            return None
        item = TrashItem.from_sql(row)
        await self._attach_files([item])
        return item

    async def trashed_at(self, file_ids: list[str], allowed: AllowedSQL) -> dict[str, str]:
        """When each of ``file_ids`` that is in the trash was put there, for the
        files in sources ``allowed`` names; the others are absent."""
        sql = f"""{allowed.as_cte()}
            SELECT t.id, i.trashed_at FROM datasette_files_trash t
            JOIN datasette_files_trash_items i ON i.id = t.item_id
            WHERE t.id IN (SELECT value FROM json_each(:df_ids))
              AND t.source_slug IN (SELECT parent FROM allowed_sources)"""
        params = {**allowed.params, "df_ids": json.dumps(file_ids)}
        return {row[0]: row[1] for row in await self.db.execute(sql, params)}

    async def item_of_file(self, file_id: str) -> Optional[TrashItem]:
        """The item holding file ``file_id`` (a file item, or a folder's)."""
        row = (await self.db.execute(
            "SELECT item_id FROM datasette_files_trash WHERE id = ?", [file_id])).first()
        return await self.get(row[0]) if row else None

    async def files_of(self, item_id: str) -> list[FileRow]:
        rows = await self.db.execute(
            f"SELECT {', '.join(FILE_COLUMN_NAMES)} FROM datasette_files_trash "
            "WHERE item_id = ? ORDER BY path", [item_id])
        return [FileRow.from_sql(row) for row in rows]

    async def uploaders_of(self, item_id: str) -> set[Optional[str]]:
        rows = await self.db.execute(
            "SELECT DISTINCT uploaded_by FROM datasette_files_trash WHERE item_id = ?",
            [item_id])
        return {row[0] for row in rows}

    async def expired(self, before: str, limit: int = 100) -> list[TrashItem]:
        rows = await self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM datasette_files_trash_items "
            "WHERE trashed_at < ? ORDER BY trashed_at LIMIT ?", [before, limit])
        return [TrashItem.from_sql(row) for row in rows]

    async def paths_in_folders(self, source: str, folders: list[str]) -> set[str]:
        """Storage paths of trashed files whose bytes are in ``folders``: sync
        must not take them for new files."""
        if not folders:
            return set()
        paths = set()
        for start in range(0, len(folders), 500):
            chunk = folders[start:start + 500]
            rows = await self.db.execute(
                "SELECT path FROM datasette_files_trash WHERE source_slug = ? AND "
                f"rtrim(rtrim(path, replace(path, '/', '')), '/') IN "
                f"({', '.join('?' * len(chunk))})", [source, *chunk])
            paths.update(row[0] for row in rows)
        return paths

    async def _attach_files(self, items: list[TrashItem]) -> None:
        files = [item for item in items if item.kind == "file"]
        if not files:
            return
        rows = await self.db.execute(
            f"SELECT item_id, {', '.join(FILE_COLUMN_NAMES)} FROM datasette_files_trash "
            f"WHERE item_id IN ({', '.join('?' * len(files))})", [i.id for i in files])
        by_item = {row[0]: FileRow.from_sql(tuple(row)[1:]) for row in rows}
        for item in files:
            item.file = by_item.get(item.id)


# Inside write transactions -------------------------------------------------------


def trash_files_in(conn, item: TrashItem, file_ids: list[str],
                   new_ids: Optional[dict[str, str]] = None) -> None:
    """Put item ``item`` in the trash, holding the files ``file_ids`` (their
    rows leave the files table). ``new_ids`` gives a file in the trash an id
    of its own (the old bytes of a replaced file: the id stays with the file)."""
    totals = conn.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM datasette_files_files "
        "WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(file_ids)]).fetchone()
    conn.execute(
        f"INSERT INTO datasette_files_trash_items ({_ITEM_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [item.id, item.kind, item.source_slug, item.name, item.folder, item.stored_at,
         json.dumps(item.subfolders), totals[0], totals[1], item.trashed_at, item.trashed_by])
    new_ids = new_ids or {}
    columns = _COLUMNS.split(", ")
    selected = ", ".join("""coalesce(json_extract(:new_ids, '$."' || id || '"'), id)""" if c == "id" else c
                         for c in columns)
    conn.execute(
        f"INSERT INTO datasette_files_trash (item_id, {_COLUMNS}) "
        f"SELECT :item, {selected} FROM datasette_files_files "
        "WHERE id IN (SELECT value FROM json_each(:ids))",
        {"item": item.id, "ids": json.dumps(file_ids), "new_ids": json.dumps(new_ids)})
    if not new_ids:
        conn.execute("DELETE FROM datasette_files_files WHERE id IN "
                     "(SELECT value FROM json_each(?))", [json.dumps(file_ids)])


def new_trash_id() -> str:
    return "tr-" + new_file_id().removeprefix("df-")


def restore_in(conn, item: TrashItem, *, folder_to: str, name_to: str, paths_from: str,
               paths_to: Optional[str], filename: Optional[str],
               created_by: Optional[str]) -> None:
    """Bring item ``item`` back: a folder's files and subfolders under
    ``folder_to``/``name_to``, or a file into ``folder_to`` as ``filename``.
    Storage paths starting with ``paths_from`` start with ``paths_to`` now
    (None: they did not move)."""
    params = {"item": item.id}
    path_sql = "path"
    if paths_to is not None:
        path_sql = ":paths_to || substr(path, :cut)"
        params.update(paths_to=paths_to, cut=len(paths_from) + 1)
    if item.kind == "folder":
        top = f"{folder_to}/{name_to}" if folder_to else name_to
        old_top = f"{item.folder}/{item.name}" if item.folder else item.name
        folder_sql = ":top || substr(folder, :folder_cut)"
        params.update(top=top, folder_cut=len(old_top) + 1)
        ensure_folders(conn, item.source_slug,
                       [top, *(f"{top}/{sub}" for sub in item.subfolders)], created_by)
        name_sql = "filename"
    else:
        folder_sql = ":folder_to"
        params["folder_to"] = folder_to
        ensure_folders(conn, item.source_slug, [folder_to], created_by)
        name_sql = ":filename"
        params["filename"] = filename
    columns = _COLUMNS.split(", ")
    selected = []
    for column in columns:
        selected.append({
            "seq": "CASE WHEN EXISTS (SELECT 1 FROM datasette_files_files f "
                   "WHERE f.seq = t.seq) THEN NULL ELSE t.seq END",
            "path": path_sql, "folder": folder_sql, "filename": name_sql,
        }.get(column, column))
    conn.execute(
        f"INSERT INTO datasette_files_files ({_COLUMNS}) "
        f"SELECT {', '.join(selected)} FROM datasette_files_trash t WHERE item_id = :item",
        params)
    if paths_to is not None:  # other items' bytes that were inside it moved with it
        conn.execute(
            "UPDATE datasette_files_trash SET path = :paths_to || substr(path, :cut) "
            "WHERE source_slug = :source AND substr(path, 1, :cut) = :inside "
            "AND item_id != :item",
            {**params, "source": item.source_slug, "inside": paths_from + "/"})
    forget_item_in(conn, item.id)


def forget_item_in(conn, item_id: str) -> list[str]:
    """Drop an item and its files' rows; the storage paths of their bytes."""
    paths = [row[0] for row in conn.execute(
        "DELETE FROM datasette_files_trash WHERE item_id = ? RETURNING path", [item_id])]
    conn.execute("DELETE FROM datasette_files_trash_items WHERE id = ?", [item_id])
    return paths

