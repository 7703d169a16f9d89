"""Renaming a file and moving it to another folder or source. The file keeps
its id wherever it goes, so table cells that name it keep working."""

from __future__ import annotations

from typing import Optional

from ..clock import now_timestamp
from ..errors import Conflict, Forbidden, NotFound
from ..naming import parse_storage_name, storage_path
from ..registry import FileRow, Registry
from ..registry.placing import move_file_row, resolve_file_name
from ..registry.trash import TrashItem, new_trash_id, trash_files_in
from ..sources import Source, Sources
from .changes import apply, moves_bytes


def joined(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


async def move_file(registry: Registry, sources: Sources, file: FileRow, *, to: Source,
                    folder: str, filename: str, on_conflict: str, actor_id: Optional[str],
                    may_replace: set[str] = frozenset()) -> FileRow:
    """Move ``file`` into ``folder`` of source ``to`` under ``filename`` (either
    may be unchanged). A file there with that name is handled as
    ``on_conflict`` says; one replaced goes to the trash (only a file in
    ``may_replace``). Within a source whose storage keeps folders the bytes
    are renamed; across sources they are copied, then the original removed.
    The caller holds the lock of the file's source: the file is read again
    under it, as another change may have moved it meanwhile."""
    current = await registry.files.get(file.id)
    if current is None:
        raise NotFound(f"File not found: {file.id} (deleted meanwhile)")
    if current.source_slug != file.source_slug:
        raise Conflict(f"{file.id} was moved to another source meanwhile: try again")
    file = current
    if folder and await registry.folders.get(to.slug, folder) is None:
        raise NotFound(f"No folder {folder!r} in source {to.slug!r}: create it first")
    if (to.slug, folder, filename) == (file.source_slug, file.folder, file.filename):
        return file
    origin = sources.get(file.source_slug)
    record = [filename, file.content_type, file.uploaded_by]
    steps, cleanup, new_path = [], [], file.path
    if to.slug == origin.slug:
        if moves_bytes(to):
            new_path = joined(folder, stored_name(file, filename))
            if new_path != file.path:
                steps.append(["move", to.slug, file.path, new_path, record])
    else:
        new_path = joined(folder, storage_path(file.id, filename))
        steps.append(["copy", origin.slug, file.path, to.slug, new_path, record])
        cleanup.append(["delete", origin.slug, file.path])
    if folder:
        await make_folder_in_storage(to, folder)
    now = now_timestamp()

    def write(conn):
        name, replaced = resolve_file_name(conn, to.slug, folder, filename, on_conflict,
                                           other_than=file.id)
        if replaced is not None:
            if replaced.id not in may_replace:
                raise Forbidden(f"You may not replace {replaced.filename!r}")
            trash_files_in(conn, TrashItem(
                id=new_trash_id(), kind="file", source_slug=to.slug, name=replaced.filename,
                folder=replaced.folder, stored_at=replaced.path, trashed_at=now,
                trashed_by=actor_id), [replaced.id])
        return move_file_row(conn, file.id, (file.source_slug, file.path), to.slug, new_path,
                             folder, name)

    return await apply(registry, sources, steps, write, cleanup)


def stored_name(file: FileRow, filename: str) -> str:
    """The name the bytes of ``file``, called ``filename``, get in another
    folder: one with its id in it. A plain name (a file put there by hand)
    may be taken there by another file's bytes."""
    basename = file.path.rpartition("/")[2]
    stored = parse_storage_name(basename)
    if filename != file.filename or stored is None or stored.file_id != file.id:
        return storage_path(file.id, filename)
    return basename


async def make_folder_in_storage(source: Source, folder: str) -> None:
    """Make ``folder`` in storage too, where the storage has real folders."""
    make = getattr(source.storage, "make_folder", None)
    if make is not None and folder:
        await make(folder)

