"""Making, renaming and moving folders within a source. Where the storage
keeps real folders, a folder's rename is one rename in storage; elsewhere
folders are the registry's alone. The caller holds the source's lock."""

from __future__ import annotations

from typing import Optional

from ..errors import ApiError, NotFound
from ..registry import Registry
from ..registry.folders import FolderRow, ensure_folders
from ..registry.placing import NameTaken, move_folder_rows
from ..sources import Source, Sources
from . import names
from .changes import apply, moves_bytes
from .files import joined, make_folder_in_storage


async def create_folder(registry: Registry, source: Source, parent: str, name: str,
                        on_conflict: str, actor_id: Optional[str]) -> FolderRow:
    """Make folder ``name`` in ``parent`` (which must exist): in storage first
    (an empty folder left there, should the registry write fail, is harmless)."""
    await existing_folder(registry, source, parent)
    path = await free_path(registry, source, parent, name, on_conflict)
    names.check_path_length(path)
    await make_folder_in_storage(source, path)
    await registry.db.execute_write_fn(
        lambda conn: ensure_folders(conn, source.slug, [path], actor_id))
    return await registry.folders.get(source.slug, path)


async def move_folder(registry: Registry, sources: Sources, source: Source, path: str, *,
                      parent: str, name: str, on_conflict: str,
                      actor_id: Optional[str]) -> FolderRow:
    """Rename folder ``path`` to ``name`` and/or move it into ``parent``."""
    if not path:
        raise ApiError("The root of a source cannot be moved or renamed")
    folder = await existing_folder(registry, source, path)
    await existing_folder(registry, source, parent)
    if parent == path or parent.startswith(path + "/"):
        raise ApiError("A folder cannot be moved into itself")
    if (parent, name) == (folder.parent, folder.name):
        return folder
    new = await free_path(registry, source, parent, name, on_conflict, other_than=path)
    names.check_path_length(new, await registry.folders.deepest_below(source.slug, path))
    steps = [["move_folder", source.slug, path, new]] if moves_bytes(source) else []
    await apply(registry, sources, steps, lambda conn: move_folder_rows(
        conn, source.slug, path, new, moves_bytes(source), actor_id))
    return await registry.folders.get(source.slug, new)


async def free_path(registry: Registry, source: Source, parent: str, name: str,
                    on_conflict: str, other_than: Optional[str] = None) -> str:
    """Where folder ``name`` goes in ``parent``: there, or (on_conflict=rename)
    under the first free numbered name; NameTaken for on_conflict=error."""
    taken = await registry.folders.named(source.slug, parent, name)
    if taken is None or taken == other_than:  # other_than: a change of case only
        return joined(parent, name)
    if on_conflict == "error":
        raise NameTaken(f"A folder named {taken.rpartition('/')[2]!r} is already here: "
                        "choose another name, or send on_conflict 'rename'",
                        conflict={"folder": taken})
    return joined(parent, await registry.folders.free_name(source.slug, parent, name))


async def existing_folder(registry: Registry, source: Source, path: str) -> FolderRow:
    folder = await registry.folders.get(source.slug, path)
    if folder is None:
        raise NotFound(f"No folder {path!r} in source {source.slug!r}")
    return folder
