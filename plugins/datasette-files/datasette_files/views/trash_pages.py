"""The trash pages: a source's trash, and the page of a file that is in it.

The trash page is a frame: ``trash.js`` lists the items from the trash's JSON
(its cursor pages them) and posts restore, purge and empty, so the page and
the API cannot disagree about who sees which item.
"""

from __future__ import annotations

from datasette import Forbidden, NotFound

from ..permissions import BROWSE, DELETE, allowed_on_source
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
