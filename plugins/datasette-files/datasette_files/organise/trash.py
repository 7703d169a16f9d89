"""The trash: deleting files and folders into it, restoring them, purging
them (by hand, or once they are older than the retention). A file's bytes
stay where they are while it is in the trash (sync knows them for trashed);
a folder, in a storage with real folders, moves into the storage's hidden
trash folder, so its name is free again."""

from __future__ import annotations

import datetime
import logging
from typing import Optional, Union

from ..base import FileMissing
from ..clock import format_timestamp, now_timestamp, utc_now
from ..errors import Conflict, NotFound, file_gone_meanwhile
from ..naming import TRASH_FOLDER
from ..registry import FileRow, Registry
from ..registry.folders import FolderRow, ensure_folders
from ..registry.placing import (
    delete_folder_rows, folder_file_ids, free_file_name, move_uploads_in, subfolders_below)
from ..registry.trash import (
    TrashItem, forget_item_in, new_trash_id, restore_in, trash_files_in)
from ..sources import Source, Sources
from .changes import apply, moves_bytes
from .files import joined, make_folder_in_storage, stored_name
from .folders import existing_folder

log = logging.getLogger("datasette_files")


async def trash_file(registry: Registry, file: FileRow, actor_id: Optional[str]) -> TrashItem:
    """Put ``file`` in the trash as it is now (read again: the caller holds the
    source's lock, and a rename may have come first)."""
    file = _still_in_its_source(file, await registry.files.get(file.id))
    item = TrashItem(id=new_trash_id(), kind="file", source_slug=file.source_slug,
                     name=file.filename, folder=file.folder, stored_at=file.path,
                     trashed_at=now_timestamp(), trashed_by=actor_id)

    def write(conn):
        if conn.execute("SELECT 1 FROM datasette_files_files WHERE id = ?",
                        [file.id]).fetchone() is None:
            raise file_gone_meanwhile(file.id)
        trash_files_in(conn, item, [file.id])

    await registry.db.execute_write_fn(write)
    return await registry.trash.get(item.id)


async def delete_file(registry: Registry, source: Source, file: FileRow) -> None:
    """Delete ``file`` for good as it is now (the caller holds its source's
    lock, so no move is taking its bytes elsewhere): its row first, then its
    bytes, so a failure between the two leaves unreferenced bytes, never a row
    pointing at missing ones. Gone already, there is nothing to do."""
    current = await registry.files.get(file.id)
    if current is None:
        return
    current = _still_in_its_source(file, current)
    if await registry.files.delete(current.id):
        try:
            await source.storage.delete_file(current.path)
        except Exception:
            log.exception("datasette-files: %s unregistered but its bytes remain", current.id)


async def trash_files(registry: Registry, files: list[FileRow],
                      actor_id: Optional[str]) -> list[Union[TrashItem, Exception]]:
    """Put each of ``files`` in the trash as an item of its own (each can be
    restored alone), in one registry write; a file deleted meanwhile is its
    NotFound. The caller holds the files' source's lock."""
    now = now_timestamp()
    items: list[Union[TrashItem, Exception]] = []
    for file in files:
        try:
            current = _still_in_its_source(file, await registry.files.get(file.id))
        except (NotFound, Conflict) as ex:
            items.append(ex)
            continue
        items.append(TrashItem(id=new_trash_id(), kind="file", source_slug=current.source_slug,
                               name=current.filename, folder=current.folder,
                               stored_at=current.path, trashed_at=now, trashed_by=actor_id))

    def write(conn):
        for index, (file, item) in enumerate(zip(files, items)):
            if isinstance(item, TrashItem):
                if conn.execute("SELECT 1 FROM datasette_files_files WHERE id = ?",
                                [file.id]).fetchone() is None:
                    items[index] = file_gone_meanwhile(file.id)
                else:
                    trash_files_in(conn, item, [file.id])

    await registry.db.execute_write_fn(write)
    return [await registry.trash.get(item.id) if isinstance(item, TrashItem) else item
            for item in items]


def _still_in_its_source(checked: FileRow, current: Optional[FileRow]) -> FileRow:
    """``current``, the file as it is now, if it is still in the source where
    the right to delete it was ``checked``: moved meanwhile, it may be where
    the actor has no such right (the caller holds only the first source's lock)."""
    if current is None:
        raise file_gone_meanwhile(checked.id)
    if current.source_slug != checked.source_slug:
        raise Conflict(f"{checked.id} was moved to another source meanwhile: try again")
    return current


async def trash_folder(registry: Registry, sources: Sources, source: Source, path: str,
                       actor_id: Optional[str]) -> TrashItem:
    """Put folder ``path`` and everything in it in the trash, as one item."""
    folder = await existing_folder(registry, source, path)
    if not path:
        raise Conflict("The root of a source cannot be deleted")
    item = TrashItem(id=new_trash_id(), kind="folder", source_slug=source.slug,
                     name=folder.name, folder=folder.parent, stored_at=path,
                     trashed_at=now_timestamp(), trashed_by=actor_id)
    steps = []
    if moves_bytes(source):
        item.stored_at = f"{TRASH_FOLDER}/{item.id}/{folder.name}"
        steps.append(["move_folder", source.slug, path, item.stored_at])

    def write(conn):
        item.subfolders = subfolders_below(conn, source.slug, path)
        trash_files_in(conn, item, folder_file_ids(conn, source.slug, path))
        delete_folder_rows(conn, source.slug, path)
        # Uploads into it follow their bytes, to a folder no upload can complete into.
        move_uploads_in(conn, source.slug, path, item.stored_at if steps else
                        f"{TRASH_FOLDER}/{item.id}/{folder.name}", bool(steps))
        if steps:  # the bytes of files trashed before from inside it moved with it
            conn.execute(
                "UPDATE datasette_files_trash SET path = ? || substr(path, ?) "
                "WHERE source_slug = ? AND substr(path, 1, ?) = ?",
                [item.stored_at, len(path) + 1, source.slug, len(path) + 1, path + "/"])

    try:
        await apply(registry, sources, steps, write)
    except FileMissing:
        if not steps:
            raise
        # Not in storage (removed there by hand): the registry's folder goes alone.
        item.stored_at, steps = path, []
        await apply(registry, sources, steps, write)
    return await registry.trash.get(item.id)


async def restore(registry: Registry, sources: Sources, item: TrashItem,
                  actor_id: Optional[str]) -> Union[FileRow, FolderRow]:
    """Put ``item`` back where it was, under a numbered name if that is taken
    now; its folder is made again if it has gone."""
    source = sources.get(item.source_slug)
    await ensure_folder(registry, source, item.folder, actor_id)
    if item.kind == "file":
        return await _restore_file(registry, sources, source, item, actor_id)
    target = joined(item.folder, await registry.folders.free_name(
        source.slug, item.folder, item.name))
    steps, paths_to = [], None
    if moves_bytes(source) and item.stored_at != target:
        steps.append(["move_folder", source.slug, item.stored_at, target])
        paths_to = target
    cleanup = [["remove_folder", source.slug, f"{TRASH_FOLDER}/{item.id}"]]
    await apply(registry, sources, steps, lambda conn: restore_in(
        conn, item, folder_to=item.folder, name_to=target.rpartition("/")[2],
        paths_from=item.stored_at, paths_to=paths_to, filename=None, created_by=actor_id),
        cleanup)
    return await registry.folders.get(source.slug, target)


async def _restore_file(registry: Registry, sources: Sources, source: Source,
                        item: TrashItem, actor_id: Optional[str]) -> FileRow:
    file = item.file
    steps, paths_to = [], None
    if moves_bytes(source) and file.path.rpartition("/")[0] != item.folder:
        # Its folder went to the trash after it, taking the bytes along.
        paths_to = joined(item.folder, stored_name(file, file.filename))
        steps.append(["move", source.slug, file.path, paths_to])

    def write(conn):
        name = free_file_name(conn, source.slug, item.folder, file.filename)
        restore_in(conn, item, folder_to=item.folder, name_to=None, paths_from=file.path,
                   paths_to=paths_to, filename=name, created_by=actor_id)

    await apply(registry, sources, steps, write)
    return await registry.files.get(file.id)


async def ensure_folder(registry: Registry, source: Source, path: str,
                        actor_id: Optional[str]) -> None:
    """Folder ``path`` exists afterwards, in the registry and in storage."""
    if path and await registry.folders.get(source.slug, path) is None:
        await make_folder_in_storage(source, path)
        await registry.db.execute_write_fn(
            lambda conn: ensure_folders(conn, source.slug, [path], actor_id))


async def purge(registry: Registry, sources: Sources, item: TrashItem) -> int:
    """Delete ``item`` for good: its rows, then its bytes; how many files went."""
    files = await registry.trash.files_of(item.id)
    cleanup = [["delete", item.source_slug, file.path] for file in files]
    if item.source_slug in sources and moves_bytes(sources.get(item.source_slug)):
        cleanup.extend(_emptied_trash_folders(item, files))
    await apply(registry, sources, [], lambda conn: forget_item_in(conn, item.id), cleanup)
    return len(files)


def _emptied_trash_folders(item: TrashItem, files: list[FileRow]) -> list[list]:
    """The folders under the storage's trash folder that purging leaves empty,
    deepest first (one still holding another item's bytes stays)."""
    folders = set()
    # The folder of each file, and (an empty one too) the item's own: with those above them.
    starts = [file.path.rpartition("/")[0] for file in files]
    if item.kind == "folder":
        folders.update(f"{item.stored_at}/{sub}" for sub in item.subfolders)
        starts.append(item.stored_at)
    for parent in starts:
        while parent.startswith(TRASH_FOLDER + "/"):
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    folders = {f for f in folders if f.startswith(TRASH_FOLDER + "/")}
    return [["remove_folder", item.source_slug, folder]
            for folder in sorted(folders, key=lambda f: -f.count("/"))]


def expired_before(retention_days: float) -> str:
    """The time before which what went to the trash is due to be purged."""
    return format_timestamp(utc_now() - datetime.timedelta(days=retention_days))
