"""POST /-/files/-/delete and /-/files/-/move: one action over many files.

Each file goes through exactly what its own endpoint does (``delete_file``,
``move_file``), so the rules cannot drift apart; a refusal of one file is that
file's result, and the others go on.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from datasette import Response

from ..errors import ApiError
from ..organise import names
from ..registry.placing import ON_CONFLICT
from .common import as_api_error, json_api, json_object_body, require_method
from .files import delete_file
from .organise import move_file

log = logging.getLogger("datasette_files")
MAX_BULK_IDS = 1000
# What a bulk move passes on to each file's move; a bulk move renames nothing.
MOVE_FIELDS = ("source", "folder", "on_conflict")


@json_api
async def bulk_delete_view(datasette, request):
    """Move each file to the trash, or delete each for good with ``permanent``."""
    require_method(request, "POST")
    body = await json_object_body(request)
    ids = bulk_ids(body)
    permanent = body.get("permanent", False)
    if not isinstance(permanent, bool):
        raise ApiError("'permanent' must be true or false")
    return await _each_file(ids, lambda file_id: delete_file(
        datasette, request, file_id, permanent))


@json_api
async def bulk_move_view(datasette, request):
    """Move each file to ``source`` and/or ``folder``, names kept."""
    require_method(request, "POST")
    body = await json_object_body(request)
    ids = bulk_ids(body)
    if "filename" in body:
        raise ApiError("A bulk move keeps each file's name: leave out 'filename'")
    if "source" not in body and "folder" not in body:
        raise ApiError("Say where to move the files: 'folder', 'source' or both")
    where = {name: body[name] for name in MOVE_FIELDS if name in body}
    # Checked once for all: a bad destination is the request's fault, not a file's.
    if "folder" in where:
        names.folder_path(where["folder"])
    if not isinstance(where.get("source", ""), str):
        raise ApiError("'source' must be a source's slug")
    names.on_conflict(where.get("on_conflict"), "rename", ON_CONFLICT)
    return await _each_file(ids, lambda file_id: move_file(
        datasette, request, file_id, where))


def bulk_ids(body: dict) -> list[str]:
    """The body's ``ids``: 1 to MAX_BULK_IDS file ids, each once, in order."""
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError("'ids' is required: a list of file ids, such as [\"df-...\"]")
    if len(ids) > MAX_BULK_IDS:
        raise ApiError(f"At most {MAX_BULK_IDS:,} files at once; this asked for {len(ids):,}")
    return list(dict.fromkeys(ids))


async def _each_file(ids: list[str], act: Callable[[str], Awaitable[dict]]) -> Response:
    """``act`` on each id in turn: one result per id, in order."""
    results, errors = [], []
    for file_id in ids:
        try:
            results.append({"id": file_id, "ok": True, **await act(file_id)})
        except Exception as ex:
            error = as_api_error(ex)
            if error is None:
                log.exception("datasette-files: unexpected error on %s in a bulk action", file_id)
                error = ApiError("Internal error", status=500)
            results.append({"id": file_id, "ok": False, "status": error.status,
                            "errors": error.messages})
            errors.extend(f"{file_id}: {message}" for message in error.messages)
    return Response.json({"ok": not errors, "results": results, "errors": errors})
