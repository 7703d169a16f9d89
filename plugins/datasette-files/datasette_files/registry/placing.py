"""Placing a file under a name in a folder, inside a write transaction: what
to do when another file there has the name already (``on_conflict``), and
moving rows when files and folders move. Every function here takes the write
connection and runs inside its caller's transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from ..clock import now_timestamp
from ..errors import ApiError, Conflict, Forbidden
from ..naming import new_file_id
from .folders import MAX_NUMBERED_NAMES, below_sql, ensure_folders
from .rows import FILE_COLUMNS, FileRow
from .trash import TrashItem, new_trash_id, trash_files_in

ON_CONFLICT = ("rename", "replace", "error")


class NameTaken(Conflict):
    """Another file or folder in that folder has the name (on_conflict=error)."""


def numbered(name: str, n: int) -> str:
    """``report.pdf`` -> ``report (n).pdf``; a name with no extension (or a
    dotfile) gets the number at the end."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{extension}"


# The file called :name (ASCII letters in any case) directly in a folder, other
# than file :other_than.
FILE_NAMED_SQL = (
    f"SELECT {FILE_COLUMNS} FROM datasette_files_files WHERE source_slug = :source "
    "AND folder = :folder AND filename = :name COLLATE NOCASE AND id IS NOT :other_than LIMIT 1")


def file_named(conn, source: str, folder: str, filename: str,
               other_than: Optional[str] = None) -> Optional[FileRow]:
    row = conn.execute(FILE_NAMED_SQL, {"source": source, "folder": folder, "name": filename,
                                        "other_than": other_than}).fetchone()
    return FileRow.from_sql(row) if row else None


def free_file_name(conn, source: str, folder: str, filename: str,
                   other_than: Optional[str] = None) -> str:
    """``filename``, or the first numbered form of it no other file in
    ``folder`` has (past SCANNED_NUMBERED_NAMES forms, a free one after them).
    Asked one by one, the n-th copy of a name cost n queries in the writer, and
    a client sending one name a thousand times a request held it for minutes."""
    if file_named(conn, source, folder, filename, other_than) is None:
        return filename
    stem, dot, extension = filename.rpartition(".")
    prefix, suffix = (filename + " (", ")") if not dot or not stem else (
        stem + " (", ")." + extension)
    bounds = {"source": source, "folder": folder, "low": prefix, "high": prefix[:-1] + ")",
              "other_than": other_than}
    count = conn.execute(f"SELECT count(*) FROM ({NUMBERED_NAMES_SQL})", bounds).fetchone()[0]
    if count > SCANNED_NUMBERED_NAMES:
        # Numbers past every name of the range are free unless a file is
        # called "name (12345)" with a number beyond the count: a few probes.
        for n in range(count + 1, min(count + 100, MAX_NUMBERED_NAMES)):
            if file_named(conn, source, folder, numbered(filename, n), other_than) is None:
                return numbered(filename, n)
        raise ApiError(f"Too many files called {filename!r} here: choose another name")
    pattern = re.compile(re.escape(_ascii_lower(prefix)) + r"([1-9][0-9]{0,5})"
                         + re.escape(_ascii_lower(suffix)))
    taken = set()
    for (name,) in conn.execute(NUMBERED_NAMES_SQL, bounds):
        match = pattern.fullmatch(_ascii_lower(name))
        if match:
            taken.add(int(match.group(1)))
    for n in range(1, MAX_NUMBERED_NAMES):
        if n not in taken:
            return numbered(filename, n)
    raise ApiError(f"Too many files called {filename!r} here: choose another name")


# Up to this many names in a name's numbered range, its first free number is
# found (a gap left by a delete is filled); beyond, one after them.
SCANNED_NUMBERED_NAMES = 1000
# Names in a folder from :low up to :high (ASCII letters in any case), other
# than file :other_than's: "report (" to "report )" holds every "report (n).pdf".
NUMBERED_NAMES_SQL = (
    "SELECT filename FROM datasette_files_files WHERE source_slug = :source "
    "AND folder = :folder AND filename >= :low COLLATE NOCASE "
    "AND filename < :high COLLATE NOCASE AND id IS NOT :other_than")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text: str) -> str:
    """As SQLite's NOCASE compares: ASCII letters folded, others as they are."""
    return text.translate(_ASCII_LOWER)


def resolve_file_name(conn, source: str, folder: str, filename: str, on_conflict: str,
                      other_than: Optional[str] = None) -> tuple[str, Optional[FileRow]]:
    """The name a file arriving in ``folder`` gets, and the file it replaces
    (on_conflict=replace), or NameTaken (on_conflict=error)."""
    existing = file_named(conn, source, folder, filename, other_than)
    if existing is None:
        return filename, None
    if on_conflict == "replace":
        return existing.filename, existing
    if on_conflict == "error":
        raise name_taken(existing)
    return free_file_name(conn, source, folder, filename, other_than), None


def name_taken(existing: FileRow) -> NameTaken:
    where = f"folder {existing.folder!r}" if existing.folder else "this folder"
    return NameTaken(f"A file named {existing.filename!r} is already in {where}: "
                     "rename it, or send on_conflict 'rename' or 'replace'",
                     conflict={"file_id": existing.id, "filename": existing.filename})


@dataclass(frozen=True)
class Placement:
    """How a new file takes its place: what to do if its name is taken in its
    folder, which files it may replace, and who is placing it."""

    on_conflict: str = "rename"
    may_replace: frozenset = frozenset()
    actor_id: Optional[str] = None


def place_new_file(conn, file: FileRow, placement: Placement,
                   insert: Callable[[FileRow], FileRow]) -> FileRow:
    """Register ``file`` (stored already) in its folder, made if need be: under
    its name, a free numbered one, or (on_conflict=replace) as the new bytes of
    the file that has the name, whose old bytes go to the trash under an id of
    their own. ``insert(file)`` writes the row and returns it as registered."""
    ensure_folders(conn, file.source_slug, [file.folder], placement.actor_id)
    name, existing = resolve_file_name(conn, file.source_slug, file.folder, file.filename,
                                       placement.on_conflict, other_than=file.id)
    if existing is None:
        file.filename = name
        return insert(file)
    if existing.id not in placement.may_replace:
        raise Forbidden(f"You may not replace {existing.filename!r}: upload it under "
                        "another name")
    trash_files_in(conn, TrashItem(
        id=new_trash_id(), kind="file", source_slug=existing.source_slug,
        name=existing.filename, folder=existing.folder, stored_at=existing.path,
        trashed_at=now_timestamp(), trashed_by=placement.actor_id),
        [existing.id], new_ids={existing.id: new_file_id()})
    return replace_content(conn, existing, file)


def move_file_row(conn, file_id: str, expected: tuple[str, str], source: str, path: str,
                  folder: str, filename: str) -> FileRow:
    """Point file ``file_id``, still at ``expected`` (source, path), at its new
    place; Conflict if it changed meanwhile. A copy in another source has a
    modification time of its own, learnt when it is next read."""
    ensure_folders(conn, source, [folder])
    row = conn.execute(
        "UPDATE datasette_files_files SET source_slug = ?, path = ?, folder = ?, filename = ?, "
        "mtime_ns = CASE WHEN source_slug = ? THEN mtime_ns END "
        f"WHERE id = ? AND source_slug = ? AND path = ? RETURNING {FILE_COLUMNS}",
        [source, path, folder, filename, source, file_id, *expected]).fetchone()
    if row is None:
        raise Conflict("The file was moved, renamed or deleted meanwhile: try again")
    return FileRow.from_sql(row)


def replace_content(conn, existing: FileRow, new: FileRow) -> FileRow:
    """File ``existing`` keeps its id, name, folder and owner, and takes the
    bytes of ``new`` (stored, not registered)."""
    row = conn.execute(
        "UPDATE datasette_files_files SET path = ?, content_type = ?, content_hash = ?, "
        "size = ?, width = ?, height = ?, mtime_ns = NULL, hash_failures = 0, "
        f"hash_retry_at = NULL WHERE id = ? AND path = ? RETURNING {FILE_COLUMNS}",
        [new.path, new.content_type, new.content_hash, new.size, new.width, new.height,
         existing.id, existing.path]).fetchone()
    if row is None:
        raise Conflict(f"{existing.filename!r} changed meanwhile: try again")
    return FileRow.from_sql(row)


def move_folder_rows(conn, source: str, old: str, new: str, paths_follow: bool,
                     created_by: Optional[str]) -> None:
    """Folder ``old`` (and everything below it) is now ``new``: its folder rows,
    its files' folders and, when the storage moved the bytes, their paths;
    files in the trash that were in it too."""
    ensure_folders(conn, source, [new.rpartition("/")[0]] if "/" in new else [], created_by)
    params = {"source": source, "old": old, "new": new, "cut": len(old) + 1}
    conn.execute(
        "UPDATE datasette_files_folders SET "
        "path = :new || substr(path, :cut), "
        "parent = CASE WHEN path = :old THEN :new_parent ELSE :new || substr(parent, :cut) END, "
        "name = CASE WHEN path = :old THEN :new_name ELSE name END "
        "WHERE source_slug = :source AND (path = :old OR " + below_sql("path", ":old") + ")",
        {**params, "new_parent": new.rpartition("/")[0], "new_name": new.rpartition("/")[2]})
    for table in ("datasette_files_files", "datasette_files_trash"):
        conn.execute(
            f"UPDATE {table} SET folder = :new || substr(folder, :cut) "
            "WHERE source_slug = :source AND (folder = :old OR "
            + below_sql("folder", ":old") + ")", params)
        if paths_follow:
            conn.execute(
                f"UPDATE {table} SET path = :new || substr(path, :cut) "
                "WHERE source_slug = :source AND " + below_sql("path", ":old"), params)
    conn.execute(
        "UPDATE datasette_files_trash_items SET folder = :new || substr(folder, :cut) "
        "WHERE source_slug = :source AND (folder = :old OR " + below_sql("folder", ":old") + ")",
        params)
    # The files' trigger counted them into folder rows that had moved with their
    # counts already: count the moved folders afresh.
    conn.execute(
        "UPDATE datasette_files_folders AS f SET file_count = (SELECT count(*) "
        "FROM datasette_files_files WHERE source_slug = f.source_slug AND folder = f.path) "
        "WHERE source_slug = :source AND (path = :new OR " + below_sql("path", ":new") + ")",
        {"source": source, "new": new})
    move_uploads_in(conn, source, old, new, paths_follow)


def move_uploads_in(conn, source: str, old: str, new: str, paths_follow: bool) -> None:
    """Uploads not completed yet into folder ``old`` (or below) go to ``new``
    instead, their bytes' paths too when the storage moved them."""
    path_sql = ":new || substr(path, :cut)" if paths_follow else "path"
    conn.execute(
        f"UPDATE datasette_files_uploads SET folder = :new || substr(folder, :cut), "
        f"path = {path_sql} WHERE source_slug = :source AND status != 'completed' "
        "AND (folder = :old OR " + below_sql("folder", ":old") + ")",
        {"source": source, "old": old, "new": new, "cut": len(old) + 1})


def folder_file_ids(conn, source: str, folder: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT id FROM datasette_files_files WHERE source_slug = :source "
        "AND (folder = :folder OR " + below_sql("folder", ":folder") + ")",
        {"source": source, "folder": folder})]


def subfolders_below(conn, source: str, folder: str) -> list[str]:
    """Every folder below ``folder``, relative to it, parents first."""
    rows = conn.execute(
        "SELECT path FROM datasette_files_folders WHERE source_slug = :source AND "
        + below_sql("path", ":folder") + " ORDER BY length(path)",
        {"source": source, "folder": folder})
    return [row[0][len(folder) + 1:] for row in rows]


def delete_folder_rows(conn, source: str, folder: str) -> None:
    conn.execute(
        "DELETE FROM datasette_files_folders WHERE source_slug = :source "
        "AND (path = :folder OR " + below_sql("path", ":folder") + ")",
        {"source": source, "folder": folder})
