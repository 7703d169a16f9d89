"""What the views share: JSON errors, request bodies, and finding the source or
file a request names once the actor may act on it."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from typing import Awaitable, Callable, Optional

from datasette import Response
from datasette.utils import error_body

from ..base import StorageFull, StorageUnavailable, UnsafePath
from ..errors import ApiError, Forbidden, MethodNotAllowed, NotFound, PayloadTooLarge
from ..permissions import BROWSE, allowed_on_file, allowed_on_source, allowed_sources_sql
from ..registry import FileRow, InvalidCursor
from ..sources import Source, UnknownSource
from ..state import PluginState, state

log = logging.getLogger("datasette_files")
MAX_JSON_BODY_BYTES = 256 * 1024


def json_api(view: Callable[..., Awaitable[Response]]):
    """Wrap a view so that every failure answers JSON, never an HTML page.

    ApiError answers its own status, the storages' errors and the lookups'
    theirs; anything unexpected is logged and answered as a JSON 500 without
    internal details.
    """

    @functools.wraps(view)
    async def wrapper(datasette, request, **kwargs):
        try:
            return await view(datasette, request, **kwargs)
        except Exception as ex:
            error = as_api_error(ex)
            if error is None:
                log.exception("datasette-files: unexpected error in %s", request.path)
                error = ApiError("Internal error", status=500)
            return error_response(error)

    # Datasette inspects a view's signature on every request; stated once here,
    # that costs a lookup instead of unwrapping and reading the function again.
    wrapper.__signature__ = inspect.signature(view)
    return wrapper


# The status a client gets for each kind of error the layers below raise.
STATUS_OF = {
    UnknownSource: 404,
    InvalidCursor: 400,
    # FileMissing, and what the specification's read_file raises.
    FileNotFoundError: 404,
    UnsafePath: 403,
    StorageFull: 507,
    StorageUnavailable: 503,
}


def as_api_error(ex: Exception) -> Optional[ApiError]:
    """The ApiError to answer for ``ex``; None for an unexpected error."""
    if isinstance(ex, ApiError):
        return ex
    for kind, status in STATUS_OF.items():
        if isinstance(ex, kind):
            return ApiError(str(ex), status=status)
    return None


def error_response(error: ApiError) -> Response:
    body = {**error_body(error.messages, error.status), **error.details}
    return Response.json(body, status=error.status)


async def render(datasette, request, template: str, context: dict,
                 status: int = 200) -> Response:
    """An HTML page from one of the plugin's templates."""
    return Response.html(await render_html(datasette, request, template, context),
                         status=status)


async def render_html(datasette, request, template: str, context: dict) -> str:
    """One of the plugin's templates, with ``files_static(name)`` for its assets."""
    return await datasette.render_template(
        template,
        {**context, "files_static": lambda name: datasette.urls.static_plugins(
            "datasette-files", name)},
        request=request)


def require_method(request, *methods: str) -> None:
    if request.method not in methods:
        raise MethodNotAllowed(
            f"Method {request.method} not allowed here; use {' or '.join(methods)}")


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


async def browsable_file(datasette, actor, file_id: str) -> Optional[tuple[FileRow, Source]]:
    """The file and its source if ``actor`` may browse it; None if it is missing
    or not theirs to see (the two look alike, so ids cannot be probed). Finding
    the file and checking that it may be browsed is one query."""
    plugin = state(datasette)
    file = await plugin.registry.files.get_allowed(
        file_id, await allowed_sources_sql(datasette, actor, BROWSE))
    if file is None or file.source_slug not in plugin.sources:
        return None
    return file, plugin.sources.get(file.source_slug)


async def file_for(datasette, request, file_id: str, action: str = BROWSE
                   ) -> tuple[FileRow, Source]:
    """The file and its source, once ``action`` is allowed on the file; a 404
    API error for a file the actor may not browse."""
    found = await browsable_file(datasette, request.actor, file_id)
    if found is None:
        raise NotFound(f"File not found: {file_id}")
    if action != BROWSE and not await allowed_on_file(datasette, request.actor, action,
                                                      found[0]):
        raise Forbidden(f"You do not have {action} permission on file {file_id}")
    return found
