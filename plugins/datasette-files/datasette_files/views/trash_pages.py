"""The trash pages: a source's trash, and the page of a file that is in it.

The trash page is a frame: ``trash.js`` lists the items from the trash's JSON
(its cursor pages them) and posts restore, purge and empty. Who sees it is the
JSON's rule (``views/trash.trash_viewer``), so the page and the API agree.
"""

from __future__ import annotations

from typing import Optional

from datasette import Response

from ..errors import Forbidden
from ..permissions import BROWSE, DELETE, FileResource, allowed_on_source
from ..sources import Source
from ..state import state
from .common import html_page, render
from .organise_json import trash_item_json
from .trash import trash_viewer


async def may_see_trash(datasette, request, source: Source) -> bool:
    """Whether the actor may see the source's trash (for a link to it)."""
    if not source.capabilities.can_delete:  # read-only: nothing to restore into
        return False
    try:
        await trash_viewer(datasette, request, source.slug)
    except Forbidden:
        return False
    return True


@html_page
async def trash_page(datasette, request):
    _, source, owner = await trash_viewer(datasette, request, request.url_vars["slug"])
    if not source.capabilities.can_delete:
        raise Forbidden(f"Source {source.slug!r} is read-only: it has no trash to manage")
    base = datasette.urls.path(f"/-/files/trash/{source.slug}")
    return await render(datasette, request, "files_trash.html", {
        "source": source,
        "json_url": f"{base}.json",
        "empty_url": f"{base}/-/empty",
        # An owner sees (and empties) only the items of their own files.
        "whole_trash": owner is None,
    })


async def trashed_file_page(datasette, request, file_id: str) -> Optional[Response]:
    """The page of a file in the trash, for those who may browse its source;
    None when there is no such file or it is not theirs to see (a plain 404)."""
    plugin = state(datasette)
    item = await plugin.registry.trash.item_of_file(file_id)
    if item is None or item.source_slug not in plugin.sources:
        return None
    source = plugin.sources.get(item.source_slug)
    if not await allowed_on_source(datasette, request.actor, BROWSE, source.slug):
        return None
    if item.file is not None:
        name = item.file.filename
    else:  # a file in a folder that is in the trash
        name = next(file.filename for file in await plugin.registry.trash.files_of(item.id)
                    if file.id == file_id)
    can_restore = not source.read_only and await datasette.allowed(
        action=DELETE, resource=FileResource(source.slug, file_id), actor=request.actor)
    # 404, not 410: the file is away from its address only until someone
    # restores it, and its JSON, download and thumbnail answer 404 meanwhile.
    return await render(datasette, request, "files_trashed.html", {
        "name": name,
        "item": trash_item_json(datasette, item, plugin.settings.trash_retention_days),
        "source": source,
        "can_restore": can_restore,
        "trash_url": datasette.urls.path(f"/-/files/trash/{source.slug}")
        if await may_see_trash(datasette, request, source) else None,
    }, status=404)
