"""GET /-/files/source/{slug}/-/changes: has a folder's listing changed?

A source page polls this (static/live-listing.js) with the token its listing
was rendered at; the answer is one primary-key lookup of the folder's listing
version (registry/listing_versions.py), kept by triggers, so an open page
costs the server a few cheap requests a minute and no scan of the files. The
version also follows its subfolders' counts, the root's total and thumbnails
made after the listing was drawn (schema ``LISTING_VERSIONS_OF_COUNTS``).
One poll: a permission query, a primary-key lookup of the folder (not for the
root) and one of its version; ~75 bytes of JSON (measured ~1.5 ms a round trip).
"""

from __future__ import annotations

import re
import urllib.parse

from datasette import Response

from ..errors import ApiError, NotFound
from ..organise import names
from ..permissions import BROWSE
from .common import json_api, require_method, source_for

# A token is a version: digits, as the page was given them.
_TOKEN = re.compile(r"[0-9]{1,19}")


def changes_token(version: int) -> str:
    """The opaque token a page carries for a listing ``version``."""
    return str(version)


@json_api
async def changes_view(datasette, request):
    """``folder=`` (the root without it) and ``since=`` (a token this answered
    before, or the page carried): ``changed`` is whether the folder's listing
    differs from the one at ``since``; ``token`` is the one to send next."""
    require_method(request, "GET", "HEAD")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    folder = names.folder_path(request.args.get("folder"))
    since = request.args.get("since")
    if since is not None and not _TOKEN.fullmatch(since):
        raise ApiError("'since' must be a token from this endpoint or the page (digits)")
    if folder and await plugin.registry.folders.get(source.slug, folder) is None:
        raise NotFound(f"No folder {folder!r} in source {source.slug!r}")
    token = changes_token(await plugin.registry.listing_versions.of(source.slug, folder))
    response = Response.json({
        "ok": True,
        "source": source.slug,
        "folder": folder,
        "token": token,
        "changed": since is not None and since != token,
    })
    # Every poll must reach the server: a cached "unchanged" would hide changes.
    response.headers["Cache-Control"] = "no-store"
    return response


def live_listing(datasette, slug: str, folder: str, version: int, settings) -> dict:
    """What a source page's listing carries to keep itself live: where to ask,
    the token it was rendered at, and how often to ask (in ms)."""
    query = urllib.parse.urlencode({"folder": folder}) if folder else ""
    return {
        "changes_url": datasette.urls.path(f"/-/files/source/{urllib.parse.quote(slug)}/-/changes")
        + (f"?{query}" if query else ""),
        "token": changes_token(version),
        "poll_ms": int(settings.live_poll_seconds * 1000),
    }
