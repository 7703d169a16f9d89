"""The trash pages: a source's trash, and the page of a file that is in it.

The trash page is a frame: ``trash.js`` lists the items from the trash's JSON
(its cursor pages them) and posts restore, purge and empty, so the page and
the API cannot disagree about who sees which item.
"""

from __future__ import annotations

import datetime

from datasette import Forbidden, NotFound

from ..clock import format_timestamp, parse_timestamp
from ..permissions import BROWSE, DELETE, FileResource, allowed_on_source
from ..sources import Source
from ..state import state
from .common import html_page, render


async def may_see_trash(datasette, actor, source: Source) -> bool:
    """Those who may delete in the source see its whole trash; with
    ``owners_can_delete``, anyone who may browse it sees their own files' items."""
    if not source.capabilities.can_delete:
        return False
    if await allowed_on_source(datasette, actor, DELETE, source.slug):
        return True
    return bool(state(datasette).config.get("owners_can_delete") and actor and actor.get("id")
                and await allowed_on_source(datasette, actor, BROWSE, source.slug))


@html_page
async def trash_page(datasette, request):
    slug = request.url_vars["slug"]
    plugin = state(datasette)
    if slug not in plugin.sources:
        raise NotFound(f"Source not found: {slug}")
    source = plugin.sources.get(slug)
    if not await may_see_trash(datasette, request.actor, source):
        raise Forbidden(f"You may not see the trash of source {slug!r}")
    base = datasette.urls.path(f"/-/files/trash/{slug}")
    return await render(datasette, request, "files_trash.html", {
        "source": source,
        "json_url": f"{base}.json",
        "empty_url": f"{base}/-/empty",
        # Emptying is for those who may delete anything in the source (the API's rule).
        "can_empty": await allowed_on_source(datasette, request.actor, DELETE, slug),
    })


async def trashed_file_page(datasette, request, file_id: str):
    """The page of a file in the trash, for those who may browse its source;
    None when there is no such file or it is not theirs to see (a plain 404)."""
    plugin = state(datasette)
    item = await plugin.registry.trash.item_of_file(file_id)
    if item is None or item.source_slug not in plugin.sources:
        return None
    source = plugin.sources.get(item.source_slug)
    if not await allowed_on_source(datasette, request.actor, BROWSE, source.slug):
        return None
    can_restore = await datasette.allowed(
        action=DELETE, resource=FileResource(source.slug, file_id), actor=request.actor)
    trash_url = datasette.urls.path(f"/-/files/trash/{source.slug}")
    # 404, not 410: the file is gone from this address only until someone
    # restores it, and its JSON, download and thumbnail answer 404 meanwhile.
    return await render(datasette, request, "files_trashed.html", {
        "item": item,
        "file_id": file_id,
        "source": source,
        "purge_after": purge_after(item, plugin.settings),
        "restore_url": f"{trash_url}/{item.id}/-/restore",
        "can_restore": can_restore,
        "trash_url": trash_url if await may_see_trash(datasette, request.actor, source) else None,
    }, status=404)


def purge_after(item, settings) -> str:
    """When the automatic purge removes ``item`` (as the trash's JSON says it)."""
    return format_timestamp(parse_timestamp(item.trashed_at)
                            + datetime.timedelta(days=settings.trash_retention_days))
