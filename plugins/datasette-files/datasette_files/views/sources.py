"""A source's JSON: its listing, and syncing it with its storage."""

from __future__ import annotations

import base64
import json
import urllib.parse

from datasette import Response

from ..errors import ApiError, Conflict
from ..permissions import BROWSE, MANAGE
from ..registry import LISTING_SORTS
from ..sync import SyncInProgress, sync_source
from .common import json_api, require_method, source_for
from .file_json import file_json
from .listings import page_size


@json_api
async def sync_view(datasette, request):
    """POST: start a sync in the background (files-manage-sources)."""
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], MANAGE)
    if not source.capabilities.can_list:
        raise ApiError(f"Source {source.slug!r} cannot list its files, so it cannot sync")
    status = plugin.syncs.of(source.slug)
    if status.running:
        raise Conflict(f"A sync of {source.slug!r} is already running")
    confirm = request.args.get("confirm_removals") in ("1", "true")

    async def run():
        try:
            await sync_source(plugin.registry, source, status,
                              include_hidden=plugin.settings.include_hidden,
                              confirm_removals=confirm)
        except SyncInProgress:
            return
        plugin.hasher.wake.set()

    plugin.jobs.start(run())
    url = datasette.urls.path(f"/-/files/sync/{source.slug}.json")
    return Response.json({"ok": True, "status_url": url}, status=202)


@json_api
async def sync_status_view(datasette, request):
    require_method(request, "GET", "HEAD")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    status = plugin.syncs.get(source.slug)
    return Response.json({
        "ok": True,
        "source": source.slug,
        "sync": status.as_json() if status else {"state": "never"},
        "running": bool(status and status.running),
        "hashing_pending": await plugin.hasher.pending(source.slug),
        "hashed_since_start": plugin.hasher.hashed,
    })


@json_api
async def listing_view(datasette, request):
    """GET /-/files/source/{slug}.json: sort=name|date|size|type, order=asc|desc,
    folder=, limit=, and next= (a cursor from the previous page)."""
    require_method(request, "GET", "HEAD")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    sort = request.args.get("sort") or "date"
    if sort not in LISTING_SORTS:
        raise ApiError(f"'sort' must be one of {', '.join(LISTING_SORTS)}")
    order = request.args.get("order") or ("desc" if sort in ("date", "size") else "asc")
    if order not in ("asc", "desc"):
        raise ApiError("'order' must be asc or desc")
    limit = page_size(request.args.get("limit"))
    after = _decode_cursor(request.args.get("next"))
    folder = request.args.get("folder") or None
    files = await plugin.registry.files.list_source(
        source.slug, sort, order == "desc", limit + 1, after=after, folder=folder)
    next_cursor = None
    if len(files) > limit:
        last = files[limit - 1]
        next_cursor = _encode_cursor(_sort_value(last, sort), last.seq)
    next_url = None
    if next_cursor:
        args = [(k, v) for k, v in urllib.parse.parse_qsl(request.query_string) if k != "next"]
        next_url = datasette.urls.path(
            f"/-/files/source/{source.slug}.json?"
            + urllib.parse.urlencode([*args, ("next", next_cursor)]))
    return Response.json({
        "ok": True,
        "source": source.slug,
        "capabilities": source.capability_flags(),
        "sort": sort, "order": order, "folder": folder,
        "files": [file_json(datasette, file) for file in files[:limit]],
        "next": next_cursor,
        "next_url": next_url,
    })


def _sort_value(file, sort: str):
    return {"date": file.seq, "name": file.filename, "size": file.size,
            "type": file.content_type}[sort]


def _encode_cursor(value, seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, seq]).encode()).decode().rstrip("=")


def _decode_cursor(cursor):
    if not cursor:
        return None
    try:
        value, seq = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(seq, int):
            raise ValueError
        return value, seq
    except (ValueError, TypeError):
        raise ApiError("Invalid cursor: use the 'next' value of a previous page")
