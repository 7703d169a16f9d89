"""One file: GET .json, GET/HEAD download, POST -/delete and -/update."""

from __future__ import annotations

import logging

from datasette import Response

from ..downloads import download_response
from ..errors import ApiError, Forbidden, json_api, require_method
from ..files import file_json
from ..permissions import BROWSE, DELETE, EDIT
from ..plugin_state import state
from ..thumbnails.icons import icon_svg
from ..thumbnails.service import DEFAULT_SIZE, SIZES
from .common import file_for, json_object_body

log = logging.getLogger("datasette_files")
MAX_SEARCH_TEXT_CHARS = 100_000
UPDATABLE_FIELDS = {"search_text"}


@json_api
async def file_json_view(datasette, request):
    require_method(request, "GET", "HEAD")
    row, _ = await file_for(datasette, request, request.url_vars["file_id"], BROWSE)
    return Response.json({"ok": True, "file": file_json(datasette, row)})


@json_api
async def download_view(datasette, request):
    require_method(request, "GET", "HEAD")
    row, source = await file_for(datasette, request, request.url_vars["file_id"], BROWSE)
    return await download_response(request, row, source)


@json_api
async def thumbnail_view(datasette, request):
    """The generated thumbnail, or an SVG file-type icon when there is none."""
    require_method(request, "GET", "HEAD")
    row, _ = await file_for(datasette, request, request.url_vars["file_id"], BROWSE)
    size = request.args.get("size") or str(DEFAULT_SIZE)
    if not size.isdigit() or int(size) not in SIZES:
        raise ApiError(f"'size' must be one of {', '.join(map(str, SIZES))}")
    thumbnail = await state(datasette).thumbnails.get(row, int(size))
    headers = {
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    if thumbnail is None:
        return Response(icon_svg(row["content_type"], row["filename"]),
                        content_type="image/svg+xml", headers=headers)
    return Response(thumbnail.thumb, content_type=thumbnail.content_type, headers=headers)


async def icon_view(datasette, request):
    """The SVG icon for a content type and name (the upload page's previews)."""
    return Response(
        icon_svg(request.args.get("type", ""), request.args.get("name", "")),
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400",
                 "Content-Security-Policy": "default-src 'none'; sandbox"},
    )


@json_api
async def delete_view(datasette, request):
    """Remove the registry row (and its index entry) first, then the bytes:
    a failure between the two leaves unreferenced bytes, never a row
    pointing at missing ones."""
    require_method(request, "POST")
    row, source = await file_for(datasette, request, request.url_vars["file_id"], DELETE)
    await json_object_body(request)
    if not source.capabilities.can_delete:
        raise ApiError(f"Source {source.slug!r} does not support deleting files")
    if await state(datasette).registry.delete(row["id"]):
        try:
            await source.storage.delete_file(row["path"])
        except Exception:
            log.exception("datasette-files: %s unregistered but its bytes remain", row["id"])
    return Response.json({"ok": True, "deleted": row["id"]})


@json_api
async def update_view(datasette, request):
    require_method(request, "POST")
    row, source = await file_for(datasette, request, request.url_vars["file_id"], EDIT)
    payload = await json_object_body(request)
    if source.read_only:
        raise Forbidden(f"Source {source.slug!r} is read-only")
    update = payload.get("update")
    if not isinstance(update, dict) or not update:
        raise ApiError('Expected {"update": {"search_text": "..."}}')
    unknown = set(update) - UPDATABLE_FIELDS
    if unknown:
        raise ApiError(
            f"Cannot update {', '.join(sorted(unknown))}: only search_text can be updated"
        )
    search_text = update["search_text"]
    if not isinstance(search_text, str):
        raise ApiError("'search_text' must be a string")
    if len(search_text) > MAX_SEARCH_TEXT_CHARS:
        raise ApiError(f"'search_text' is longer than {MAX_SEARCH_TEXT_CHARS} characters")
    registry = state(datasette).registry
    await registry.update_search_text(row["id"], search_text)
    return Response.json({"ok": True, "file": file_json(datasette, await registry.get(row["id"]))})
