"""The trash's JSON endpoints: list a source's trash, restore an item, purge
one, empty the trash. Those with files-delete on the source see and manage
every item; an owner (owners_can_delete) sees and manages their own files'."""

from __future__ import annotations

import urllib.parse
from typing import Optional

from datasette import Response

from ..errors import ApiError, Forbidden, NotFound
from ..permissions import BROWSE, DELETE, allowed_on_every_file
from ..state import state
from ..uploads.storing import actor_id_of
from .common import json_api, json_object_body, require_method, source_for
from .file_json import file_json
from .listings import page_size
from .organise_json import folder_json, trash_item_json
from .params import decode_trash_cursor, encode_trash_cursor


async def trash_viewer(datasette, request, slug: str):
    """(plugin, source, owner): ``owner`` is None for one who may manage the
    whole trash, else the actor id whose files' items they may manage."""
    plugin, source = await source_for(datasette, request, slug, BROWSE)
    if await allowed_on_every_file(datasette, request.actor, DELETE, slug):
        return plugin, source, None
    actor = request.actor or {}
    if plugin.config.get("owners_can_delete") and actor.get("id") is not None:
        return plugin, source, str(actor["id"])
    raise Forbidden(f"You do not have {DELETE} permission on source {slug!r}, so its "
                    "trash is not yours to see")


@json_api
async def trash_view(datasette, request):
    require_method(request, "GET", "HEAD")
    plugin, source, owner = await trash_viewer(datasette, request, request.url_vars["slug"])
    limit = page_size(request.args)
    items = await plugin.registry.trash.items(
        source.slug, limit=limit + 1, before=decode_trash_cursor(request.args.get("next")),
        owner=owner)
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_trash_cursor(last.trashed_at, last.id)
    retention = plugin.settings.trash_retention_days
    next_url = None
    if next_cursor:
        args = [(k, v) for k, v in urllib.parse.parse_qsl(request.query_string) if k != "next"]
        next_url = datasette.urls.path(f"/-/files/trash/{source.slug}.json?"
                                       + urllib.parse.urlencode([*args, ("next", next_cursor)]))
    return Response.json({
        "ok": True, "source": source.slug, "retention_days": retention,
        "items": [trash_item_json(datasette, item, retention) for item in items[:limit]],
        "next": next_cursor, "next_url": next_url,
    })


async def _item(datasette, request):
    plugin, source, owner = await trash_viewer(datasette, request, request.url_vars["slug"])
    await json_object_body(request)
    item = await plugin.registry.trash.get(request.url_vars["item_id"])
    if item is None or item.source_slug != source.slug or not await _owned(
            plugin, item, owner):
        raise NotFound(f"Not in the trash of {source.slug!r}: {request.url_vars['item_id']}")
    return plugin, source, item


async def _owned(plugin, item, owner: Optional[str]) -> bool:
    return owner is None or await plugin.registry.trash.uploaders_of(item.id) == {owner}


@json_api
async def restore_view(datasette, request):
    require_method(request, "POST")
    plugin, source, item = await _item(datasette, request)
    if source.read_only:
        raise Forbidden(f"Source {source.slug!r} is read-only")
    restored = await plugin.organiser.restore(item, actor_id_of(request.actor))
    if item.kind == "file":
        return Response.json({"ok": True, "file": file_json(datasette, restored)})
    return Response.json({"ok": True, "folder": folder_json(datasette, restored)})


@json_api
async def purge_view(datasette, request):
    require_method(request, "POST")
    plugin, source, item = await _item(datasette, request)
    if source.read_only:
        raise Forbidden(f"Source {source.slug!r} is read-only")
    return Response.json({"ok": True, "purged": await plugin.organiser.purge(item)})


@json_api
async def empty_view(datasette, request):
    require_method(request, "POST")
    plugin, source, owner = await trash_viewer(datasette, request, request.url_vars["slug"])
    await json_object_body(request)
    if source.read_only:
        raise Forbidden(f"Source {source.slug!r} is read-only")
    return Response.json({"ok": True, "purged": await plugin.organiser.empty(source, owner)})

