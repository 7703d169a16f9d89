"""GET and POST /-/files/-/zip: chosen files, or a folder and everything below
it, as one zip streamed to the client.

A POST carries the same fields as a url-encoded form, so a page can send a
selection of a thousand ids through a plain form submit (too long for a URL).
Datasette's cross-origin protection stands in front of it as in front of every
POST: a form posted from another site is refused before it gets here.
"""

from __future__ import annotations

import re

from ..archives import (
    MAX_ARCHIVE_FILES, ArchiveResponse, ArchiveSlot, ZipArchive, empty_folders, members_of,
    selected_files, tree_files, uniquely_named)
from ..errors import ApiError, NotFound, file_not_found
from ..naming import FILE_ID_PATTERN
from ..organise import names
from ..permissions import BROWSE, allowed_sources_sql
from ..state import state
from .common import form_fields, json_api, require_method, source_for

MAX_ZIP_IDS = 1000
# 1,000 ids of 29 characters as "id=...&" fields, and room for the rest.
MAX_ZIP_FORM_BYTES = 64 * 1024
MAX_ZIP_FORM_FIELDS = MAX_ZIP_IDS + 10
_FILE_ID = re.compile(f"^{FILE_ID_PATTERN}$")
FORM_TYPE = "application/x-www-form-urlencoded"


@json_api
async def zip_view(datasette, request):
    require_method(request, "GET", "POST")
    fields = await _fields(request)
    ids = [value for key, value in fields if key == "id"]
    if len(ids) > MAX_ZIP_IDS:
        raise ApiError(f"At most {MAX_ZIP_IDS} ids per zip")
    given = {key: value for key, value in fields if key in ("source", "folder")}
    if ids and given:
        raise ApiError("Give either 'id' (files) or 'source' and 'folder' (a folder), not both")
    if not ids and "source" not in given:
        raise ApiError("Give the files as 'id' (repeated), or a folder as 'source' and 'folder'")
    slot = state(datasette).archives.take(_client_of(request))
    try:
        if ids:
            archive, filename = await _selection(datasette, request, ids, slot)
        else:
            archive, filename = await _folder(datasette, request, given["source"],
                                              given.get("folder"), slot)
        return ArchiveResponse(archive, filename, slot, request.receive)
    except BaseException:
        slot.give_back()
        raise


def _client_of(request) -> str:
    """Who asks: the actor's id, or the address of a client not signed in."""
    actor = request.actor or {}
    if actor.get("id") is not None:
        return f"actor:{actor['id']}"
    client = request.scope.get("client")
    return f"address:{client[0] if client else ''}"


async def _fields(request) -> list[tuple[str, str]]:
    """The query string's fields for a GET, the url-encoded form's for a POST."""
    if request.method == "GET":
        return [(key, value) for key in ("id", "source", "folder")
                for value in request.args.getlist(key)]
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise ApiError(f"Send the fields as {FORM_TYPE}, not {content_type or 'nothing'}",
                       status=415)
    return await form_fields(request, MAX_ZIP_FORM_BYTES, MAX_ZIP_FORM_FIELDS)


async def _selection(datasette, request, ids: list[str], slot: ArchiveSlot):
    """The zip of ``ids``: each file under its own name, flat; and its name."""
    for file_id in ids:
        if not _FILE_ID.match(file_id):
            raise file_not_found(file_id)
    plugin = state(datasette)
    files = selected_files(plugin.registry, plugin.sources, ids,
                           await allowed_sources_sql(datasette, request.actor, BROWSE))
    members = await members_of(files, plugin.sources, None, missing_is_error=True,
                               hold=slot.hold)
    filename = "files.zip" if len(members) == 1 else f"files-{len(members)}.zip"
    return ZipArchive(uniquely_named(members)), filename


async def _folder(datasette, request, slug: str, raw_folder, slot: ArchiveSlot):
    """The zip of a folder's tree, paths relative to the folder, empty folders
    kept; and its name."""
    plugin, source = await source_for(datasette, request, slug, BROWSE)
    folder = names.folder_path(raw_folder or None)
    if folder and await plugin.registry.folders.get(source.slug, folder) is None:
        raise NotFound(f"Folder not found: {folder!r} in source {source.slug!r}")
    files = tree_files(plugin.registry, source.slug, folder,
                       await allowed_sources_sql(datasette, request.actor, BROWSE))
    members = await members_of(files, plugin.sources, folder, missing_is_error=False,
                               hold=slot.hold)
    folders = await empty_folders(plugin.registry, source.slug, folder,
                                  MAX_ARCHIVE_FILES - len(members))
    slot.hold(len(folders))
    return (ZipArchive(uniquely_named(members, folders), folders),
            f"{folder.rpartition('/')[2] or source.slug}.zip")
