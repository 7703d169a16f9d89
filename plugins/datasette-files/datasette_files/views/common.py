"""Request helpers shared by the JSON views."""

from __future__ import annotations

import json

from ..errors import ApiError, Forbidden, NotFound, PayloadTooLarge
from ..permissions import allowed_on_file, allowed_on_source
from ..plugin_state import PluginState, state
from ..sources import Source

MAX_JSON_BODY_BYTES = 256 * 1024


async def json_object_body(request) -> dict:
    """The request body parsed as a JSON object, or a 400/413 API error."""
    body = b""
    async for chunk in _limited_body(request):
        body += chunk
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as ex:
        raise ApiError(f"Request body is not valid JSON: {ex}")
    if not isinstance(data, dict):
        raise ApiError("Request body must be a JSON object")
    return data


async def _limited_body(request):
    size = 0
    while True:
        message = await request.receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JSON_BODY_BYTES:
            raise PayloadTooLarge(f"JSON body is larger than {MAX_JSON_BODY_BYTES} bytes")
        yield chunk
        if not message.get("more_body"):
            return


async def source_for(datasette, request, slug: str, action: str) -> tuple[PluginState, Source]:
    """The plugin state and source ``slug``, once ``action`` is allowed on it."""
    plugin = state(datasette)
    source = plugin.sources.get(slug)
    if not await allowed_on_source(datasette, request.actor, action, slug):
        raise Forbidden(f"You do not have {action} permission on source {slug!r}")
    return plugin, source


async def file_for(datasette, request, file_id: str, action: str) -> tuple[dict, Source]:
    """The file row and its source, once ``action`` is allowed on the file.

    A file the actor may not browse answers 404 like a missing one, so ids
    cannot be probed for existence.
    """
    plugin = state(datasette)
    row = await plugin.registry.get(file_id)
    if row is None or row["source_slug"] not in plugin.sources:
        raise NotFound(f"File not found: {file_id}")
    actor = request.actor
    if not await allowed_on_source(datasette, actor, "files-browse", row["source_slug"]):
        raise NotFound(f"File not found: {file_id}")
    if action != "files-browse" and not await allowed_on_file(datasette, actor, action, row):
        raise Forbidden(f"You do not have {action} permission on file {file_id}")
    return row, plugin.sources.get(row["source_slug"])
