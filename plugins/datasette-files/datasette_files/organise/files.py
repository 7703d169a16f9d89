"""Renaming a file and moving it to another folder or source. The file keeps
its id wherever it goes, so table cells that name it keep working."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..clock import now_timestamp
from ..errors import Conflict, NotFound, file_gone_meanwhile
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
    file = await _current(registry, file)
    await _require_folder(registry, to, folder)
    if (to.slug, folder, filename) == (file.source_slug, file.folder, file.filename):
        return file
    steps, cleanup, new_path = _storage_steps(sources, file, to, folder, filename)
    await make_folder_in_storage(to, folder)
    placing = _Placing(to, folder, on_conflict, actor_id, may_replace, now_timestamp())
    return await apply(registry, sources, steps,
                       lambda conn: placing.place(conn, file, new_path, filename), cleanup)


async def move_files(registry: Registry, sources: Sources, files: list[FileRow], *,
                     to: Source, folder: str, on_conflict: str, actor_id: Optional[str],
                     may_replace: set[str] = frozenset()) -> list[Union[FileRow, Exception]]:
    """Move each of ``files`` (of one source) into ``folder`` of ``to``, names
    kept, as ``move_file`` would: one change for all of them (one journal
    entry and one registry write, instead of three writes per file). If that
    change is refused or fails (a name taken with on_conflict=error, a file
    changed meanwhile), it is undone whole and each file is moved on its own,
    so each gets its own result. The caller holds the sources' locks."""
    try:
        return list(await _move_together(registry, sources, files, to=to, folder=folder,
                                         on_conflict=on_conflict, actor_id=actor_id,
                                         may_replace=may_replace))
    except Exception as ex:
        # A batch that could not be undone whole is finished or undone at the
        # next start: moving its files again now could be undone with it.
        if await _left_in_flight(registry, files, to):
            return [ex] * len(files)
    # Undone whole: each file now moves alone, its error its own result.
    outcomes: list[Union[FileRow, Exception]] = []
    for file in files:
        try:
            outcomes.append(await move_file(
                registry, sources, file, to=to, folder=folder, filename=file.filename,
                on_conflict=on_conflict, actor_id=actor_id, may_replace=may_replace))
        except Exception as ex:
            outcomes.append(ex)
    return outcomes


async def _move_together(registry: Registry, sources: Sources, files: list[FileRow], *,
                         to: Source, folder: str, on_conflict: str, actor_id: Optional[str],
                         may_replace: set[str]) -> list[FileRow]:
    files = [await _current(registry, file) for file in files]
    await _require_folder(registry, to, folder)
    steps, cleanup, moves = [], [], []
    for file in files:
        if (to.slug, folder) == (file.source_slug, file.folder):
            moves.append((file, None))
            continue
        file_steps, file_cleanup, new_path = _storage_steps(sources, file, to, folder,
                                                            file.filename)
        steps += file_steps
        cleanup += file_cleanup
        moves.append((file, new_path))
    await make_folder_in_storage(to, folder)
    # A file of the batch that another would replace is refused (Conflict), so
    # the batch goes file by file and that file's result says it was replaced.
    placing = _Placing(to, folder, on_conflict, actor_id,
                       frozenset(may_replace) - {file.id for file in files}, now_timestamp())

    def write(conn):
        return [file if new_path is None else placing.place(conn, file, new_path, file.filename)
                for file, new_path in moves]

    return await apply(registry, sources, steps, write, cleanup)


async def _left_in_flight(registry: Registry, files: list[FileRow], to: Source) -> bool:
    """Whether an undone batch left storage steps in the journal (its undo
    failed): the caller holds both sources' locks, so they are that batch's."""
    for slug in {files[0].source_slug, to.slug}:
        if await registry.journal.paths_in_flight(slug):
            return True
    return False


async def _current(registry: Registry, file: FileRow) -> FileRow:
    """``file`` as the registry has it now; refused if it left its source."""
    current = await registry.files.get(file.id)
    if current is None:
        raise file_gone_meanwhile(file.id)
    if current.source_slug != file.source_slug:
        raise Conflict(f"{file.id} was moved to another source meanwhile: try again")
    return current


async def _require_folder(registry: Registry, to: Source, folder: str) -> None:
    if folder and await registry.folders.get(to.slug, folder) is None:
        raise NotFound(f"No folder {folder!r} in source {to.slug!r}: create it first")


def _storage_steps(sources: Sources, file: FileRow, to: Source, folder: str,
                   filename: str) -> tuple[list, list, str]:
    """The journal's steps and cleanup that move ``file``'s bytes into
    ``folder`` of ``to`` as ``filename``, and the path they get."""
    origin = sources.get(file.source_slug)
    record = [filename, file.content_type, file.uploaded_by]
    if to.slug == origin.slug:
        if not moves_bytes(to):
            return [], [], file.path
        new_path = joined(folder, stored_name(file, filename))
        if new_path == file.path:
            return [], [], new_path
        return [["move", to.slug, file.path, new_path, record]], [], new_path
    new_path = joined(folder, storage_path(file.id, filename))
    return ([["copy", origin.slug, file.path, to.slug, new_path, record]],
            [["delete", origin.slug, file.path]], new_path)


@dataclass(frozen=True)
class _Placing:
    """Where moved files go, and how a name taken there is handled."""

    to: Source
    folder: str
    on_conflict: str
    actor_id: Optional[str]
    may_replace: set[str]
    now: str

    def place(self, conn, file: FileRow, new_path: str, filename: str) -> FileRow:
        """Point ``file``'s row at ``new_path`` under ``filename``, or the name
        the conflict rule gives; a file it replaces goes to the trash."""
        name, replaced = resolve_file_name(conn, self.to.slug, self.folder, filename,
                                           self.on_conflict, other_than=file.id)
        if replaced is not None:
            if replaced.id not in self.may_replace:
                # Put there after the right to replace it was checked (a file
                # the actor may not replace is refused then).
                raise Conflict(f"A file named {replaced.filename!r} was put there meanwhile: "
                               "try again")
            trash_files_in(conn, TrashItem(
                id=new_trash_id(), kind="file", source_slug=self.to.slug,
                name=replaced.filename, folder=replaced.folder, stored_at=replaced.path,
                trashed_at=self.now, trashed_by=self.actor_id), [replaced.id])
        return move_file_row(conn, file.id, (file.source_slug, file.path), self.to.slug,
                             new_path, self.folder, name)


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

