"""GET /-/files/search.json, /-/files/batch.json and /-/files/sources.json."""

from __future__ import annotations

import re
import urllib.parse

from datasette import Response

from ..errors import ApiError
from ..naming import FILE_ID_PATTERN
from ..permissions import BROWSE, UPLOAD, allowed_on_source, allowed_sources_sql
from ..kinds import kind_of
from ..registry import SEARCH_SORTS, SearchFilters
from ..state import state
from .common import json_api, require_method
from .file_json import file_json
from .params import choice_param, number_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BATCH_IDS = 1000
_FILE_ID = re.compile(f"^{FILE_ID_PATTERN}$")


@json_api
async def search_view(datasette, request):
    require_method(request, "GET", "HEAD")
    plugin = state(datasette)
    filters = SearchFilters.from_args(request.args)
    if filters.source is not None:
        plugin.sources.get(filters.source)
    sort = choice_param(request.args, "sort", SEARCH_SORTS, None)
    limit = page_size(request.args)
    allowed = await allowed_sources_sql(datasette, request.actor, BROWSE)
    page = await plugin.registry.search_index.search(
        allowed,
        query=request.args.get("q", ""),
        filters=filters,
        cursor=request.args.get("next") or None,
        limit=limit,
        sort=sort,
    )
    browsable = await plugin.registry.search_index.allowed_slugs(allowed)
    files = []
    for file in page.files:
        entry = file_json(datasette, file)
        entry["kind"] = kind_of(file.content_type, file.filename)
        entry["match"] = page.matches.get(file.id)
        files.append(entry)
    return Response.json(
        {
            "ok": True,
            "q": request.args.get("q", ""),
            # As the published datasette-files answers: the filter as given ("" for
            # none) and the slugs of the sources the actor may browse.
            "source": filters.source or "",
            "sources": [s.slug for s in plugin.sources if s.slug in browsable],
            "folder": filters.folder,
            "filters": filters.as_json(),
            "sort": page.sort,
            "files": files,
            "total": page.total,
            "total_is_capped": page.total_is_capped,
            "total_display": f"{page.total:,}+" if page.total_is_capped else f"{page.total:,}",
            "page": page.page,
            "pages": page.pages,
            "pages_is_capped": page.pages_is_capped,
            "next": page.next_cursor,
            "next_url": _with_cursor(datasette, request, page.next_cursor),
            "previous": page.previous_cursor,
            "previous_url": _with_cursor(datasette, request, page.previous_cursor),
        }
    )


def _with_cursor(datasette, request, cursor):
    """This search's URL at the page ``cursor`` leads to; None without one."""
    if not cursor:
        return None
    args = [(k, v) for k, v in urllib.parse.parse_qsl(request.query_string) if k != "next"]
    return datasette.urls.path(
        "/-/files/search.json?" + urllib.parse.urlencode([*args, ("next", cursor)]))


def page_size(args) -> int:
    """``limit`` (or Datasette's ``_size``): how many files a page has. Both
    are read, so a malformed one is refused even when the other is used."""
    size = number_param(args, "_size", DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    return number_param(args, "limit", size, maximum=MAX_PAGE_SIZE)


@json_api
async def batch_view(datasette, request):
    """Files by id, keyed by id, and when those in the trash were put there;
    ids that are unknown or not browsable are in neither."""
    require_method(request, "GET", "HEAD")
    ids = request.args.getlist("id")
    if len(ids) > MAX_BATCH_IDS:
        raise ApiError(f"At most {MAX_BATCH_IDS} ids per request")
    ids = [file_id for file_id in dict.fromkeys(ids) if _FILE_ID.match(file_id)]
    rows, trashed = [], {}
    if ids:
        registry = state(datasette).registry
        allowed = await allowed_sources_sql(datasette, request.actor, BROWSE)
        rows = await registry.files.batch(ids, allowed)
        found = {file.id for file in rows}
        # Only what the files table lacks can be in the trash: one more query
        # for pages whose cells all point at live files is skipped.
        rest = [file_id for file_id in ids if file_id not in found]
        if rest:
            trashed = await registry.trash.trashed_at(rest, allowed)
    return Response.json({
        "ok": True,
        "files": {file.id: file_json(datasette, file) for file in rows},
        "trashed": {file_id: {"trashed_at": at} for file_id, at in trashed.items()},
    })


@json_api
async def sources_view(datasette, request):
    """The sources the actor may browse or upload to, with capability flags."""
    require_method(request, "GET", "HEAD")
    plugin = state(datasette)
    counts = None
    sources = []
    for source in plugin.sources:
        can_browse = await allowed_on_source(datasette, request.actor, BROWSE, source.slug)
        can_upload = source.capabilities.can_upload and await allowed_on_source(
            datasette, request.actor, UPLOAD, source.slug
        )
        if not (can_browse or can_upload):
            continue
        sync = plugin.syncs.get(source.slug)
        if counts is None:
            counts = await plugin.registry.files.count_by_source()
        sources.append(
            {
                "slug": source.slug,
                "storage_type": source.storage_type,
                "capabilities": source.capability_flags(),
                "actor_can_browse": can_browse,
                "actor_can_upload": can_upload,
                "file_count": counts.get(source.slug, 0) if can_browse else None,
                "healthy": not (sync and sync.state == "unhealthy"),
                "sync": sync.as_json() if can_browse and sync else None,
            }
        )
    return Response.json({"ok": True, "sources": sources})
