"""A source's JSON: its listing, and syncing it with its storage."""

from __future__ import annotations

import urllib.parse

from datasette import Response

from ..errors import ApiError, Conflict, NotFound
from ..organise import names
from ..permissions import BROWSE, MANAGE
from ..registry import LISTING_SORTS
from ..sync import SyncInProgress, sync_source
from .common import json_api, require_method, source_for
from .file_json import file_json
from .organise_json import folder_json
from .listings import page_size
from .params import NUMERIC_SORTS, choice_param, decode_listing_cursor, listing_cursor


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
    confirm = choice_param(request.args, "confirm_removals", ("1", "true", "0", "false"),
                           None) in ("1", "true")

    async def run():
        try:
            await sync_source(plugin.registry, source, status,
                              include_hidden=plugin.settings.include_hidden,
                              confirm_removals=confirm, organiser=plugin.organiser)
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
    folder= (only the files directly in it; without it, every file of the
    source), limit=, and next= (a cursor from the previous page)."""
    require_method(request, "GET", "HEAD")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    sort = choice_param(request.args, "sort", list(LISTING_SORTS), "date")
    order = choice_param(request.args, "order", ("asc", "desc"),
                         "desc" if sort in NUMERIC_SORTS else "asc")
    limit = page_size(request.args)
    after = decode_listing_cursor(request.args.get("next"), sort in NUMERIC_SORTS)
    folder = request.args.get("folder") or None
    folder_row = None
    if folder is not None:
        folder = names.folder_path(folder)
        folder_row = await plugin.registry.folders.get(source.slug, folder)
        if folder_row is None:
            raise NotFound(f"No folder {folder!r} in source {source.slug!r}")
    files = await plugin.registry.files.list_source(
        source.slug, sort, order == "desc", limit + 1, after=after, only_folder=folder)
    next_cursor = None
    if len(files) > limit:
        next_cursor = listing_cursor(files[limit - 1], sort)
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
        # The folder listed, and the folders directly in it (the root's without ``folder``).
        "folder_info": folder_json(datasette, folder_row) if folder_row else None,
        "folders": [folder_json(datasette, child) for child in
                    await plugin.registry.folders.children(source.slug, folder or "")],
        "files": [file_json(datasette, file) for file in files[:limit]],
        "next": next_cursor,
        "next_url": next_url,
    })

