"""The HTML pages: files index, source listing, upload, file (search: search_page.py)."""

from __future__ import annotations

import urllib.parse
from typing import Optional

from datasette import Forbidden, NotFound
from datasette.plugins import pm
from datasette.utils import await_me_maybe

from ..organise import names
from ..permissions import (
    BROWSE, DELETE, EDIT, MANAGE, UPLOAD, FileResource, allowed_on_source, allowed_sources_sql)
from ..previews.choice import is_inline_image
from ..registry import FOLDER_SORTS, FileRow, FolderRow
from ..state import state
from ..thumbnails.icons import kind_of
from ..thumbnails.service import DEFAULT_SIZE
from ..uploads import chunk_size_for
from ..uploads.direct import direct_upload_part_size
from .bulk_bar import bulk_actions, move_targets
from .common import browsable_file, html_page, render, render_html
from .file_json import file_json, versioned_thumbnail_url
from .file_preview import page_build, preview_context
from .image_preview import image_url
from .live_listing import live_listing
from .list_view import (
    chosen_view, default_order, list_columns, listing_url, moment_of_ns, moment_of_timestamp,
    sort_links, view_links)
from .params import (
    NUMERIC_SORTS, choice_param, decode_listing_cursor, listing_cursor, number_param)
from .trash_pages import may_see_trash, trashed_file_page

PAGE_SIZE = 50
RECENT_FILES = 12
PREVIEW_BYTES = 2048


def card(datasette, file: FileRow, thumbnail_made: Optional[bool] = None) -> dict:
    """What a page shows of a file. ``thumbnail_made`` (for a live listing):
    whether its thumbnail exists yet, part of the URL so that a listing swapped
    in once it is made loads it, rather than the icon the browser kept."""
    thumbnail_src = versioned_thumbnail_url(datasette, file)
    if thumbnail_made:
        thumbnail_src += ("&" if "?" in thumbnail_src else "?") + "made=1"
    return {**file_json(datasette, file), "kind": kind_of(file.content_type),
            "thumbnail_src": thumbnail_src,
            "large_thumbnail_src": versioned_thumbnail_url(datasette, file, size=400),
            "modified": moment_of_ns(file.modified_ns),
            # Raster images open the lightbox at full size (lightbox.js).
            "image_src": image_url(datasette, file) if is_inline_image(file) else None}


async def browsable_sources(datasette, actor) -> list[dict]:
    # Two permission queries in all (asking about each source would be two per
    # source, on every view of the index and of Datasette's home page).
    plugin = state(datasette)
    search = plugin.registry.search_index
    browsable = await search.allowed_slugs(await allowed_sources_sql(datasette, actor, BROWSE))
    uploadable = await search.allowed_slugs(await allowed_sources_sql(datasette, actor, UPLOAD))
    counts = await plugin.registry.files.count_by_source()
    return [{"slug": source.slug, "storage_type": source.storage_type,
             "count": counts.get(source.slug, 0),
             "can_upload": source.capabilities.can_upload and source.slug in uploadable}
            for source in plugin.sources if source.slug in browsable]


@html_page
async def index_page(datasette, request):
    """The sources the actor may browse and the latest files in them; a 403
    (the same page, saying so) for one who may browse none of the configured
    sources (the published datasette-files answers 200: COMPATIBILITY.md)."""
    sources = await browsable_sources(datasette, request.actor)
    if not sources:
        status = 403 if len(state(datasette).sources) else 200
        return await render(datasette, request, "files_index.html",
                            {"sources": [], "recent": []}, status=status)
    # The latest files alone: a search would also count its matches.
    recent = await state(datasette).registry.files.recent(
        await allowed_sources_sql(datasette, request.actor), RECENT_FILES)
    return await render(datasette, request, "files_index.html", {
        "sources": sources, "recent": [card(datasette, file) for file in recent]})


async def homepage_panel(datasette, request) -> str:
    """The Files panel on Datasette's home page, for those who may browse."""
    sources = await browsable_sources(datasette, request.actor)
    if not sources:
        return ""
    return await render_html(datasette, request, "_files_homepage.html", {"sources": sources})


async def _source_or_error(datasette, request, action: str):
    slug = request.url_vars["slug"]
    plugin = state(datasette)
    if slug not in plugin.sources:
        raise NotFound(f"Source not found: {slug}")
    if not await allowed_on_source(datasette, request.actor, action, slug):
        raise Forbidden(f"You do not have {action} permission on source {slug!r}")
    return plugin, plugin.sources.get(slug)


@html_page
async def source_page(datasette, request):
    plugin, source = await _source_or_error(datasette, request, BROWSE)
    sort = choice_param(request.args, "sort", list(FOLDER_SORTS), "date")
    order = choice_param(request.args, "order", ("asc", "desc"), default_order(sort))
    descending = order == "desc"
    view = await chosen_view(datasette, request)
    folder = names.folder_path(request.args.get("folder"))
    here = await plugin.registry.folders.get(source.slug, folder)
    if here is None:
        raise NotFound(f"Folder not found: {folder!r} in source {source.slug!r}")
    # The folder row's counts are kept by triggers: nothing is counted here.
    # Read before the rows: a change in between shows now and again at the next poll.
    version = await plugin.registry.listing_versions.of(source.slug, folder)
    pages = max(1, -(-here.file_count // PAGE_SIZE))
    page_number = min(number_param(request.args, "page", 1), pages)
    rows = await _listing_page(plugin.registry.files, request.args, source.slug, folder,
                               sort, descending, page_number, here.file_count)
    # Folders come before the files, on the first page only.
    children = await plugin.registry.folders.children(source.slug, folder) \
        if page_number == 1 else []
    made = await plugin.registry.thumbnails.made_for([file.id for file in rows], DEFAULT_SIZE)
    can_upload = source.capabilities.can_upload and await allowed_on_source(
        datasette, request.actor, UPLOAD, source.slug)
    # Links keep the sort, the folder, and a view asked for in the URL (without
    # one, each page shows the actor's saved view).
    link = {"sort": sort, "order": order, **({"folder": folder} if folder else {}),
            **({"view": view} if request.args.get("view") else {})}
    return await render(datasette, request, "files_source.html", {
        "source": source,
        "files": [card(datasette, file, file.id in made) for file in rows],
        "folders": [folder_card(datasette, row) for row in _sorted_folders(
            children, sort, descending)],
        "heading": here.name if folder else source.slug,
        # A folder's own counts; at the root, the whole source's files.
        "file_count": here.file_count if folder
        else await plugin.registry.files.count_in_source(source.slug),
        "folder_count": here.folder_count,
        "sort": sort,
        "order": order,
        "sort_links": sort_links(link, FOLDER_SORTS, sort, order),
        "view": view,
        "view_links": view_links(link, view),
        "list_columns": list_columns(link, sort, order),
        "preferences_url": datasette.urls.path("/-/files/-/preferences"),
        "page": page_number,
        "pages": pages,
        # Next and previous carry a cursor (found through an index however
        # deep the page); ``page`` alone still opens any page.
        "previous_url": _page_url(link, page_number - 1, "previous", rows[0], sort)
        if page_number > 1 and rows else None,
        "next_url": _page_url(link, page_number + 1, "next", rows[-1], sort)
        if page_number < pages and rows else None,
        "can_upload": can_upload,
        "chunk_size": chunk_size_for(source, plugin.settings),
        "direct_upload_part_size": direct_upload_part_size(source),
        "sync": plugin.syncs.get(source.slug),
        "can_sync": source.capabilities.can_list and await allowed_on_source(
            datasette, request.actor, MANAGE, source.slug),
        "folder": folder,
        "trail": folder_crumbs(datasette, source.slug, folder),
        "can_see_trash": await may_see_trash(datasette, request, source),
        **await bulk_actions(datasette, request.actor, source,
                             await browsable_sources(datasette, request.actor)),
        "zip_url": datasette.urls.path("/-/files/-/zip"),
        "live": live_listing(datasette, source.slug, folder, version, plugin.settings),
    })


async def _listing_page(files, args, slug: str, folder: str, sort: str, descending: bool,
                        page_number: int, total: int) -> list[FileRow]:
    """The files of one page of a folder of ``total`` files: after the ``next``
    cursor, before the ``previous`` one, or else page ``page_number``."""
    numeric = sort in NUMERIC_SORTS
    after = decode_listing_cursor(args.get("next"), numeric)
    if after is not None:
        return await files.list_source(slug, sort, descending, PAGE_SIZE, after=after,
                                       only_folder=folder)
    before = decode_listing_cursor(args.get("previous"), numeric)
    if before is not None:
        # The page before, read backwards from the cursor, then put in order.
        return list(reversed(await files.list_source(
            slug, sort, not descending, PAGE_SIZE, after=before, only_folder=folder)))
    start = (page_number - 1) * PAGE_SIZE
    end = min(start + PAGE_SIZE, total)
    if start <= total - end:
        return await files.list_source(slug, sort, descending, PAGE_SIZE, offset=start,
                                       only_folder=folder)
    # Nearer the end: counted from there, so no page skips more than half the folder.
    return list(reversed(await files.list_source(
        slug, sort, not descending, end - start, offset=total - end, only_folder=folder)))


def _page_url(link: dict, page: int, direction: str, file: FileRow, sort: str) -> str:
    """A link to ``page``, the one just before or after ``file`` (the first page
    needs no cursor)."""
    cursor = {direction: listing_cursor(file, sort)} if page > 1 else {}
    return listing_url(link, page=page, **cursor)


def folder_url(datasette, slug: str, path: str) -> str:
    """A folder's page ('' is the source's root)."""
    url = datasette.urls.path(f"/-/files/source/{slug}")
    return f"{url}?{urllib.parse.urlencode({'folder': path})}" if path else url


def folder_card(datasette, folder: FolderRow) -> dict:
    """What a listing shows of a folder."""
    return {"name": folder.name, "path": folder.path, "created_at": folder.created_at,
            "created": moment_of_timestamp(folder.created_at),
            "file_count": folder.file_count, "folder_count": folder.folder_count,
            "url": folder_url(datasette, folder.source_slug, folder.path)}


def _sorted_folders(folders: list[FolderRow], sort: str, descending: bool) -> list[FolderRow]:
    # Folders have no size, type or uploader: those sorts list them by name.
    if sort in ("date", "modified"):
        return sorted(folders, key=lambda f: f.created_at or "", reverse=descending)
    return sorted(folders, key=lambda f: f.name.casefold(),
                  reverse=descending and sort == "name")


def folder_crumbs(datasette, slug: str, folder: str) -> list[tuple[str, str]]:
    """(label, url) from the source down to ``folder``, for a breadcrumb trail."""
    crumbs = [(slug, folder_url(datasette, slug, ""))]
    path = ""
    for name in folder.split("/") if folder else []:
        path = f"{path}/{name}" if path else name
        crumbs.append((name, folder_url(datasette, slug, path)))
    return crumbs


async def upload_page(datasette, request):
    plugin, source = await _source_or_error(datasette, request, UPLOAD)
    if not source.capabilities.can_upload:
        raise Forbidden(f"Source {source.slug!r} does not accept uploads")
    return await render(datasette, request, "files_upload.html", {
        "source": source, "chunk_size": chunk_size_for(source, plugin.settings),
        "direct_upload_part_size": direct_upload_part_size(source)})


async def file_page(datasette, request):
    file_id = request.url_vars["file_id"]
    found = await browsable_file(datasette, request.actor, file_id)
    if found is None:
        trashed = await trashed_file_page(datasette, request, file_id)
        if trashed is not None:
            return trashed
        raise NotFound(f"File not found: {file_id}")
    file, source = found
    allowed = await datasette.allowed_many(
        actions=[EDIT, DELETE], resource=FileResource(file.source_slug, file.id),
        actor=request.actor)
    can_edit = not source.read_only and allowed[EDIT]
    targets = move_targets(await browsable_sources(datasette, request.actor),
                           source) if can_edit else []
    async with page_build(datasette, file):
        return await render(datasette, request, "files_file.html", {
            "file": card(datasette, file),
            "trail": folder_crumbs(datasette, file.source_slug, file.folder),
            "is_image": file.content_type.startswith("image/") and file.width is not None,
            "preview": await preview_context(datasette, request, file, source),
            "can_edit": can_edit,
            "can_rename": file.source_slug in targets,
            "move_targets": targets,
            "can_delete": source.capabilities.can_delete and allowed[DELETE],
            "actions": await file_actions(datasette, request.actor, file, source),
        })


async def file_actions(datasette, actor, file: FileRow, source) -> list[dict]:
    """Every plugin's actions for this file; the preview bytes are read once."""
    try:
        preview = await source.storage.read_bytes(file.path, PREVIEW_BYTES)
    except Exception:
        preview = b""
    # The hook's file: the registry's columns, and the source as "source_id".
    file = {**file.as_dict(), "source_id": file.source_slug}
    actions = []
    for result in pm.hook.file_actions(datasette=datasette, actor=actor, file=file,
                                       preview_bytes=preview):
        for action in await await_me_maybe(result) or []:
            if isinstance(action, dict) and action.get("href") and action.get("label"):
                actions.append(action)
    return actions
