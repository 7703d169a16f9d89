"""One file: GET .json, GET/HEAD download and thumbnail, POST -/delete and -/update."""

from __future__ import annotations

from datasette import Response

from ..base import UnsafePath
from ..downloads import Disposition, download_response
from ..errors import ApiError, Forbidden, NotFound
from ..permissions import DELETE, EDIT
from ..registry import FileRow
from ..sources import Source
from ..state import state
from ..thumbnails.icons import icon_svg
from ..thumbnails.service import DEFAULT_SIZE, SIZES
from ..uploads.storing import actor_id_of
from .cache_control import keep_cache_control
from .common import file_for, json_api, json_object_body, require_method
from .file_json import file_json
from .organise_json import trash_item_json

MAX_SEARCH_TEXT_CHARS = 100_000
UPDATABLE_FIELDS = {"search_text"}
# A thumbnail URL that names its version never changes: browsers keep it a year.
IMMUTABLE = "private, max-age=31536000, immutable"


@json_api
async def file_json_view(datasette, request):
    require_method(request, "GET", "HEAD")
    file, _ = await file_for(datasette, request, request.url_vars["file_id"])
    return Response.json(file_json(datasette, file))


@json_api
async def download_view(datasette, request):
    require_method(request, "GET", "HEAD")
    file, source = await file_for(datasette, request, request.url_vars["file_id"])
    return await bytes_response(datasette, request, file, source)


async def bytes_response(datasette, request, file: FileRow, source: Source,
                         disposition: Disposition = "attachment"):
    """The file's bytes (``download_response``), its storage's errors answered
    as JSON naming the file."""
    plugin = state(datasette)
    try:
        return await download_response(request, file, source, plugin.registry,
                                       plugin.hasher.wake.set, disposition)
    # As json_api would answer them, with messages that name the file.
    except FileNotFoundError:  # FileMissing, or a storage's own
        raise NotFound(f"The bytes of {file.id} are missing from storage")
    except UnsafePath:
        raise Forbidden(f"Refused: {file.id} no longer points inside its source")


@json_api
async def thumbnail_view(datasette, request):
    """The generated thumbnail, or an SVG file-type icon when there is none.

    Asked for with its current version (``v``, as in the file's
    ``thumbnail_url``), it may be cached for good; otherwise it is revalidated.
    """
    require_method(request, "GET", "HEAD")
    file, _ = await file_for(datasette, request, request.url_vars["file_id"])
    size = request.args.get("size") or str(DEFAULT_SIZE)
    # Compared as text: isdigit() accepts "²", which int() refuses.
    if size not in {str(known) for known in SIZES}:
        raise ApiError(f"'size' must be one of {', '.join(map(str, SIZES))}")
    thumbnails = state(datasette).thumbnails
    version = thumbnails.version(file)
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    if version is not None:
        headers["ETag"] = f'"{version}-{size}"'
        if request.headers.get("if-none-match") == headers["ETag"]:
            return keep_cache_control(Response("", status=304, headers=headers),
                                      _cache_control(request, version))
    thumbnail = await thumbnails.get(file, int(size))
    if thumbnail is not None:
        response = Response(thumbnail.thumb, content_type=thumbnail.content_type,
                            headers=headers)
        return keep_cache_control(response, _cache_control(request, version))
    response = Response(icon_svg(file.content_type, file.filename),
                        content_type="image/svg+xml", headers=headers)
    # The icon stands in for good when no generator can draw the file; when one
    # failed (it may have timed out under load), the browser asks again.
    if await thumbnails.applicable(file):
        return keep_cache_control(response, "private, no-cache")
    return keep_cache_control(response, _cache_control(request, version))


def _cache_control(request, version) -> str:
    if version is not None and request.args.get("v") == version:
        return IMMUTABLE
    return "private, no-cache"


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
    require_method(request, "POST")
    # The file first: 0.1a3 never reads the body, so a file missing or not the
    # actor's to delete is its 404 or 403 whatever the body holds.
    file, _ = await deletable_file(datasette, request, request.url_vars["file_id"])
    body = await json_object_body(request)
    return Response.json({"ok": True, **await delete_file(
        datasette, request, file, body.get("permanent", False))})


async def delete_file(datasette, request, file: FileRow, permanent) -> dict:
    """Move ``file`` (as ``deletable_file`` found it) to the trash (its bytes
    are kept until the trash is purged), or with ``permanent`` delete it for
    good: the registry row first, then the bytes, so a failure between the two
    leaves unreferenced bytes, never a row pointing at missing ones. The
    answer's fields."""
    if not isinstance(permanent, bool):
        raise ApiError("'permanent' must be true or false")
    plugin = state(datasette)
    if not permanent:
        item = await plugin.organiser.trash_file(file, actor_id_of(request.actor))
        return {"deleted": file.id, "trash": trash_item_json(
            datasette, item, plugin.settings.trash_retention_days)}
    await plugin.organiser.delete_file(file)
    return {"deleted": file.id, "trash": None}


async def deletable_file(datasette, request, file_id: str) -> tuple[FileRow, Source]:
    """The file and its source, once the actor may delete it and its source can."""
    file, source = await file_for(datasette, request, file_id, DELETE)
    source.require_writable()
    if not source.capabilities.can_delete:
        raise ApiError(f"Source {source.slug!r} does not support deleting files")
    return file, source


@json_api
async def update_view(datasette, request):
    require_method(request, "POST")
    file, source = await file_for(datasette, request, request.url_vars["file_id"], EDIT)
    payload = await json_object_body(request)
    source.require_writable()
    update = payload.get("update")
    if not isinstance(update, dict) or not update:
        raise ApiError('Expected {"update": {"search_text": "..."}}')
    unknown = set(update) - UPDATABLE_FIELDS
    if unknown:
        raise ApiError(
            f"Cannot update {', '.join(sorted(unknown))}: only search_text can be updated")
    search_text = update["search_text"]
    if not isinstance(search_text, str):
        raise ApiError("'search_text' must be a string")
    if len(search_text) > MAX_SEARCH_TEXT_CHARS:
        raise ApiError(f"'search_text' is longer than {MAX_SEARCH_TEXT_CHARS} characters")
    files = state(datasette).registry.files
    await files.update_search_text(file.id, search_text)
    return Response.json({"ok": True, "file": file_json(datasette, await files.get(file.id))})
