"""What a zip download holds: the files, each under a name unique in the
archive, with the size its bytes have in storage now.

Everything here happens before the first byte is sent, so every refusal is
still a JSON error: an id the actor may not browse, bytes missing from storage,
an archive of more files than MAX_ARCHIVE_FILES.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable, Optional, Sequence

from ..errors import NotFound, PayloadTooLarge, file_not_found
from ..registry import AllowedSQL, FileRow, Registry
from ..registry.placing import numbered
from ..sources import Source, Sources

# A zip holds about a kilobyte per member until its last byte is sent (see
# slots): this bounds what one download holds.
MAX_ARCHIVE_FILES = 50_000
# Files read from the registry at a time when walking a folder tree.
TREE_PAGE = 1000
# Storage look-ups (a stat on disk, a HEAD on S3) in flight at once per download.
STAT_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Member:
    """One file in the archive: its name there, and where its bytes are."""

    name: str
    file_id: str
    source: Source
    path: str
    size: int


class UniqueNames:
    """Names inside one archive. A name already taken (in any letter case:
    Windows and macOS unpack "A.txt" over "a.txt") gets " (2)", " (3)"...
    before its extension, as the registry numbers names in a folder."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_number: dict[str, int] = {}

    def claim(self, name: str) -> str:
        """``name``, or its first numbered form no earlier member has."""
        key = name.casefold()
        if key not in self._taken:
            self._taken.add(key)
            return name
        folder, slash, filename = name.rpartition("/")
        n = self._next_number.get(key, 2)
        while (candidate := folder + slash + numbered(filename, n)).casefold() in self._taken:
            n += 1
        self._next_number[key] = n + 1
        self._taken.add(candidate.casefold())
        return candidate


def uniquely_named(members: list[Member], folders: Sequence[str] = ()) -> list[Member]:
    """``members`` (named as ``archive_name`` names them), each under a name no
    other entry of the archive has: not another member's, and not a folder's
    (of a member, or of ``folders``, the empty ones: "a/b/"), as unzip tools
    cannot make a file "a" beside a folder "a/". Folders keep their names; a
    file's is numbered (``UniqueNames``)."""
    names = UniqueNames()
    for path in _folder_paths(members, folders):
        names.claim(path)
    return [replace(member, name=names.claim(member.name)) for member in members]


def _folder_paths(members: list[Member], folders: Sequence[str]) -> set[str]:
    """Every folder the archive holds ("a", "a/b"), in any letter case once."""
    paths: dict[str, str] = {}
    for name in [member.name for member in members] + [f.rstrip("/") + "/x" for f in folders]:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            paths.setdefault(path.casefold(), path)
    return set(paths.values())


def safe_part(part: str) -> str:
    """A file or folder name as unzip tools may create it: never '.', '..' or a
    name holding a separator, whatever the storage allowed."""
    part = part.replace("\\", "_").replace("/", "_").replace("\x00", "_")
    return "_" if part in ("", ".", "..") else part


def archive_name(file: FileRow, base_folder: Optional[str]) -> str:
    """The member's name: the file's name for a selection (``base_folder`` None),
    its path below ``base_folder`` for a folder's tree."""
    if base_folder is None or not file.folder:
        return safe_part(file.filename)
    relative = file.folder[len(base_folder):].strip("/") if base_folder else file.folder
    parts = [safe_part(part) for part in relative.split("/") if part]
    return "/".join([*parts, safe_part(file.filename)])


async def selected_files(registry: Registry, sources: Sources, file_ids: list[str],
                         allowed: AllowedSQL) -> AsyncIterator[FileRow]:
    """The files ``file_ids`` name (duplicates once, in request order), found
    in one query; NotFound naming the first id that is unknown or not the
    actor's to browse (the two look alike, as for one file) before any."""
    file_ids = list(dict.fromkeys(file_ids))
    found = {file.id: file for file in await registry.files.batch(file_ids, allowed)
             if file.source_slug in sources}
    for file_id in file_ids:
        if file_id not in found:
            raise file_not_found(file_id)
    for file_id in file_ids:
        yield found[file_id]


async def tree_files(registry: Registry, source: str, folder: str,
                     allowed: AllowedSQL) -> AsyncIterator[FileRow]:
    """The files in ``folder`` and below that the actor may browse, a page at a
    time; PayloadTooLarge past MAX_ARCHIVE_FILES."""
    after, count = None, 0
    while True:
        page = await registry.files.tree_page(source, folder, allowed, TREE_PAGE, after)
        for file in page:
            count += 1
            if count > MAX_ARCHIVE_FILES:
                raise _too_many(f"folder {folder!r}" if folder else f"source {source!r}")
            yield file
        if len(page) < TREE_PAGE:
            return
        after = (page[-1].folder, page[-1].seq)


async def empty_folders(registry: Registry, source: str, folder: str,
                        most: int) -> list[str]:
    """The archive's names ("a/b/") of the folders below ``folder`` that hold
    nothing, so that the copy of the tree has them too; PayloadTooLarge past
    ``most``."""
    found: list[str] = []
    after = ""
    while True:
        page = await registry.folders.empty_below(source, folder, TREE_PAGE, after)
        for path in page:
            relative = path[len(folder):].strip("/") if folder else path
            found.append("/".join(safe_part(part) for part in relative.split("/")) + "/")
        if len(found) > most:
            raise _too_many(f"folder {folder!r}" if folder else f"source {source!r}")
        if len(page) < TREE_PAGE:
            return found
        after = page[-1]


async def members_of(files: AsyncIterator[FileRow], sources: Sources,
                     base_folder: Optional[str], missing_is_error: bool,
                     hold: Callable[[int], None]) -> list[Member]:
    """A member for each file, named as ``archive_name`` names it (not yet
    uniquely: see ``uniquely_named``), sized as its bytes are in storage.

    A file whose bytes are gone is a NotFound (``missing_is_error``: the actor
    named it) or left out (in a folder's tree, as a listing would). Sizes come
    from storage, not the registry, so the archive's length (Content-Length)
    holds for bytes changed since they were registered. ``hold`` counts each
    member against the bound on what running zips hold (``slots``).
    """
    members: list[Optional[Member]] = []
    gate = asyncio.Semaphore(STAT_CONCURRENCY)
    lookups = []

    async def size_of(index: int, file: FileRow, source: Source) -> None:
        async with gate:
            metadata = await source.storage.get_file_metadata(file.path)
        if metadata is None or metadata.size is None:
            if missing_is_error:
                raise NotFound(f"The bytes of {file.id} are missing from storage")
            members[index] = None
            return
        members[index] = Member(members[index].name, file.id, source, file.path,
                                metadata.size)

    try:
        async for file in files:
            hold(1)
            source = sources.get(file.source_slug)
            members.append(Member(archive_name(file, base_folder), file.id, source, file.path,
                                  file.size or 0))
            lookups.append(asyncio.ensure_future(size_of(len(members) - 1, file, source)))
            if len(lookups) >= TREE_PAGE:
                await _settle(lookups)
                lookups = []
    except BaseException:
        for lookup in lookups:  # none is left running behind the refusal
            lookup.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)
        raise
    await _settle(lookups)
    return [member for member in members if member is not None]


async def _settle(lookups: list) -> None:
    """Wait for every look-up; the first failure is raised once all are done
    (none is left running behind an answer)."""
    results = await asyncio.gather(*lookups, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _too_many(what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"A zip holds at most {MAX_ARCHIVE_FILES:,} files: "
                           f"{what} has more; download a folder inside it instead")
