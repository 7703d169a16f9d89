"""Uploading many files in one request: a folder's tree, or a drop of many
files.

The parts are read in order. A small one (up to SMALL_FILE_BYTES) is read
whole and handed to ``SmallFiles``, which stores and registers it with
others while the request reads on; a larger one streams into storage as a
PUT's does. The answer waits for every file: each file and its row are on
disk before it. A part whose path, size or place is refused fails alone; the
rest go on. Should the body end early (the client went away), the files
whose parts arrived whole are registered, and the part cut short leaves
nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Optional, Union

from ..base import BatchWrites, FileRecord
from ..errors import ApiError, NotFound, PayloadTooLarge
from ..naming import new_file_id, storage_path
from ..organise import names
from ..organise.files import joined, make_folder_in_storage
from ..registry import FileRow, Registry
from ..registry.placing import ON_CONFLICT, Placement, name_taken
from ..sources import Source
from .checks import check_size_allowed, informative_type, require_uploads, validate_upload
from .single_request import SMALL_FILE_BYTES, put_streamed
from .small_files import SmallFile, SmallFiles
from .storing import actor_id_of, new_file_row

MAX_BATCH_FILES = 1000
OPTIONS = ("folder", "on_conflict")
# SQLite's NOCASE, which folder names are compared with, folds ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# (folder, file name) -> the ids of the files there the actor may replace.
MayReplace = Callable[[str, str], Awaitable[frozenset]]


@dataclass
class FieldSent:
    """A plain field of the request."""

    name: str
    value: str


@dataclass
class FileSent:
    """A file part of the request: its name (a path relative to the batch's
    folder), declared type and bytes, to be read before the next part."""

    filename: str
    content_type: Optional[str]
    content: AsyncIterator[bytes]


PartSent = Union[FieldSent, FileSent]


@dataclass
class BatchItem:
    """One file part: its name as sent, and the file as registered or the
    error that refused it."""

    name: str
    file: Optional[FileRow] = None
    error: Optional[Exception] = None

    def settle(self, file: Optional[FileRow], error: Optional[Exception]) -> None:
        self.file, self.error = file, error


class TooManyFiles(PayloadTooLarge):
    """More than MAX_BATCH_FILES file parts: the first ones were handled."""


class BatchUpload:
    """The files of one request into ``source``, by ``actor``."""

    def __init__(self, registry: Registry, source: Source, actor,
                 may_replace: MayReplace):
        require_uploads(source)
        self.registry = registry
        self.source = source
        self.actor_id = actor_id_of(actor)
        self.may_replace = may_replace
        self.items: list[BatchItem] = []
        self.folder = ""
        self.on_conflict = "rename"
        self._folders: dict[tuple[str, str], str] = {}
        self._small = (SmallFiles(registry, source)
                       if isinstance(source.storage, BatchWrites) else None)
        self._body_error: Optional[Exception] = None

    async def receive(self, parts: AsyncIterator[PartSent]) -> list[BatchItem]:
        """Every file of ``parts``, each registered or refused, in part order.
        A request-level error (ApiError) may come after some files were
        handled: ``items`` has them then, settled."""
        parts = parts.__aiter__()
        try:
            part = await self._read_options(parts)
            if part is None:
                raise ApiError("No file in the form: send each file in a 'file' part, "
                               "after the 'folder' and 'on_conflict' fields")
            while part is not None:
                if isinstance(part, FieldSent):
                    if part.name in OPTIONS:
                        raise ApiError(f"The '{part.name}' field must come before the files")
                elif len(self.items) == MAX_BATCH_FILES:
                    raise TooManyFiles(f"A batch carries at most {MAX_BATCH_FILES} files: "
                                       "send the others in another request")
                else:
                    await self._receive_file(part)
                part = await anext(parts, None)
        except asyncio.CancelledError:
            raise  # the files being registered go on: each lands with its row or not at all
        except BaseException:
            await self._settle()
            raise
        await self._settle()
        return self.items

    async def _read_options(self, parts: AsyncIterator[PartSent]) -> Optional[FileSent]:
        """Read the fields before the first file; that file (None if none)."""
        options: dict[str, str] = {}
        part = await anext(parts, None)
        while isinstance(part, FieldSent):
            if part.name in OPTIONS:
                options[part.name] = part.value
            part = await anext(parts, None)
        self.folder = names.folder_path(options.get("folder"))
        self.on_conflict = names.on_conflict(options.get("on_conflict") or None, "rename",
                                             ON_CONFLICT)
        if self.folder and await self.registry.folders.get(self.source.slug,
                                                           self.folder) is None:
            raise NotFound(f"No folder {self.folder!r} in source {self.source.slug!r}: "
                           "create it first")
        return part

    async def _receive_file(self, part: FileSent) -> None:
        item = BatchItem(part.filename)
        self.items.append(item)
        try:
            folders, name = names.relative_file_path(part.filename)
            head, rest = await _read_up_to(self._bytes_of(part), SMALL_FILE_BYTES)
            size = sum(map(len, head)) if rest is None else None
            shown_name, content_type, _ = await validate_upload(self.source, {
                "filename": name, "content_type": informative_type(part.content_type)})
            if size is not None:
                # Not its free space: a full disk fails the write, which says so.
                check_size_allowed(self.source, size)
            folder = await self._folder_for(folders)
            file_id = new_file_id()
            path = joined(folder, storage_path(file_id, shown_name))
            record = FileRecord(shown_name, content_type, self.actor_id)
            placement = Placement(self.on_conflict, await self.may_replace(folder, shown_name)
                                  if self.on_conflict == "replace" else frozenset(),
                                  self.actor_id)
            if size is not None and self._small is not None:
                await self._small.add(SmallFile(
                    new_file_row(file_id, self.source, path, shown_name, content_type, None,
                                 size, None, None, self.actor_id, folder),
                    b"".join(head), record, placement, item.settle))
                return
            if self.on_conflict == "error":  # before the bytes are streamed, not after
                existing = await self.registry.files.named(self.source.slug, folder,
                                                           shown_name)
                if existing is not None:
                    raise name_taken(existing)
            item.file = await put_streamed(self.registry, self.source, file_id, path, record,
                                           size, _chained(head, rest), folder, placement)
        except Exception as ex:
            if self._body_error is not None:
                item.error = ApiError("The request ended before this file arrived whole")
                raise self._body_error
            item.error = ex

    async def _bytes_of(self, part: FileSent) -> AsyncIterator[bytes]:
        """The part's bytes; an error reading the request is kept, to be told
        from one of the file's own."""
        try:
            async for chunk in part.content:
                yield chunk
        except Exception as ex:  # the client went away, the body is malformed
            self._body_error = ex
            raise

    async def _folder_for(self, folders: list[str]) -> str:
        """The folder ``folders`` (relative to the batch's folder) names: an
        existing one (any ASCII case), or one made in storage now, whose row
        comes with its first file's."""
        if len(self.folder.split("/") if self.folder else []) + len(folders) \
                > names.MAX_FOLDER_DEPTH:
            raise ApiError(f"Folders nest at most {names.MAX_FOLDER_DEPTH} deep")
        path = self.folder
        for name in folders:
            key = (path, name.translate(_ASCII_LOWER))
            found = self._folders.get(key)
            if found is None:
                found = await self.registry.folders.named(self.source.slug, path, name)
                if found is None:
                    found = joined(path, name)
                    names.check_path_length(found)
                    await make_folder_in_storage(self.source, found)
                self._folders[key] = found
            path = found
        return path

    async def _settle(self) -> None:
        if self._small is not None:
            await self._small.settle()


async def _read_up_to(stream: AsyncIterator[bytes], limit: int
                      ) -> tuple[list[bytes], Optional[AsyncIterator[bytes]]]:
    """The first chunks of ``stream``, until more than ``limit`` bytes; the rest
    of it, or None if it ended within ``limit``."""
    head, size = [], 0
    iterator = stream.__aiter__()
    async for chunk in iterator:
        head.append(chunk)
        size += len(chunk)
        if size > limit:
            return head, iterator
    return head, None


async def _chained(head: list[bytes], rest: Optional[AsyncIterator[bytes]]
                   ) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    if rest is not None:
        async for chunk in rest:
            yield chunk
