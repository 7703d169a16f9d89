"""What the views share: JSON errors, request bodies, and finding the source or
file a request names once the actor may act on it."""

from __future__ import annotations

import functools
import inspect
import logging
import urllib.parse
from typing import Awaitable, Callable, NoReturn, Optional

from datasette import Response
from datasette.utils import error_body
from datasette.utils.asgi import Base400

from ..base import (PartsRefused, PathTaken, StorageFull, StorageUnavailable, UnsafePath,
                    UploadTooSlow)
from ..errors import ApiError, Forbidden, MethodNotAllowed, PayloadTooLarge, file_not_found
from ..permissions import BROWSE, allowed_on_file, allowed_on_source, allowed_sources_sql
from ..parsing import InvalidJSON, loads
from ..registry import FileRow, InvalidCursor, InvalidQuery, SearchTimedOut
from ..sizes import human_size
from ..sources import Source, UnknownSource
from ..state import PluginState, state

log = logging.getLogger("datasette_files")
MAX_JSON_BODY_BYTES = 256 * 1024
# Our JSON bodies nest two levels ({"update": {...}}); the margin is generous.
MAX_JSON_DEPTH = 32
# The one form we parse (starting an import) has four short fields.
MAX_FORM_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100


def json_api(view: Callable[..., Awaitable[Response]]):
    """Wrap a view so that every failure answers JSON, never an HTML page.

    ApiError answers its own status, the storages' errors and the lookups'
    theirs; anything unexpected is logged and answered as a JSON 500 without
    internal details.
    """
    return _answering_errors(view, json_error)


def html_page(view: Callable[..., Awaitable[Response]]):
    """Wrap a page so that the errors json_api answers as JSON (a malformed
    parameter, a search that timed out) show as an error page with their
    status; anything else is left to Datasette."""
    return _answering_errors(view, page_error)


def _answering_errors(view, answer: Callable[[object, Exception], Response]):
    """``view``, with any exception it raises handed to ``answer``."""
    @functools.wraps(view)
    async def wrapper(datasette, request, **kwargs):
        try:
            return await view(datasette, request, **kwargs)
        except Exception as ex:
            return answer(request, ex)

    # Datasette inspects a view's signature on every request; stated once here,
    # that costs a lookup instead of unwrapping and reading the function again.
    wrapper.__signature__ = inspect.signature(view)
    return wrapper


def json_error(request, ex: Exception) -> Response:
    """The JSON answer for ``ex``, raised while answering ``request``."""
    error = as_api_error(ex)
    if error is None:
        log.exception("datasette-files: unexpected error in %s", request.path)
        error = ApiError("Internal error", status=500)
    return error_response(error)


class PageError(Base400):
    """An ApiError on an HTML page: Datasette renders its error page with the status."""

    def __init__(self, error: ApiError):
        super().__init__(str(error))
        self.status = error.status


def page_error(request, ex: Exception) -> NoReturn:
    """Raise ``ex`` as the error page Datasette shows for it (PageError)."""
    error = as_api_error(ex)
    if error is None:
        raise ex
    raise PageError(error) from None


# The status a client gets for each kind of error the layers below raise.
STATUS_OF = {
    UnknownSource: 404,
    InvalidCursor: 400,
    InvalidQuery: 400,
    SearchTimedOut: 503,
    # FileMissing, and what the specification's read_file raises.
    FileNotFoundError: 404,
    UnsafePath: 403,
    # Something made by hand is where a folder would go.
    PathTaken: 409,
    PartsRefused: 409,
    StorageFull: 507,
    StorageUnavailable: 503,
    UploadTooSlow: 408,
}


def as_api_error(ex: Exception) -> Optional[ApiError]:
    """The ApiError to answer for ``ex``; None for an unexpected error."""
    if isinstance(ex, ApiError):
        return ex
    for kind, status in STATUS_OF.items():
        if isinstance(ex, kind):
            retry_after = getattr(ex, "retry_after", None)  # StorageBusy's
            return ApiError(str(ex), status=status,
                            **({"retry_after": retry_after} if retry_after else {}))
    return None


def item_failure(ex: Exception, item: str) -> dict:
    """The failed result of one item of a bulk request: the status and messages
    its own request would have answered, with the error's details (a name
    conflict's ``conflict``); an unexpected error is logged and a 500."""
    error = as_api_error(ex)
    if error is None:
        log.error("datasette-files: unexpected error on %s in a bulk request", item,
                  exc_info=ex)
        error = ApiError("Internal error", status=500)
    return {"ok": False, "status": error.status, "errors": error.messages, **error.details}


def error_response(error: ApiError) -> Response:
    body = {**error_body(error.messages, error.status), **error.details}
    response = Response.json(body, status=error.status)
    if error.status == 503 and error.details.get("retry_after"):
        response.headers["Retry-After"] = str(error.details["retry_after"])
    return response


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
    """The request body parsed as a JSON object, or a 400/413 API error: at
    most MAX_JSON_BODY_BYTES, nested at most MAX_JSON_DEPTH deep."""
    body = await _limited_body(request, MAX_JSON_BODY_BYTES, "JSON body")
    if not body.strip():
        return {}
    try:
        data = loads(body, MAX_JSON_DEPTH)
    except InvalidJSON as ex:
        raise ApiError(f"Request body is not valid JSON: {ex}")
    if not isinstance(data, dict):
        raise ApiError("Request body must be a JSON object")
    return data


async def form_body(request) -> dict[str, str]:
    """A url-encoded form body (Datasette's post_vars() takes 2 MB and refuses
    invalid UTF-8 with a 500): at most MAX_FORM_BODY_BYTES and MAX_FORM_FIELDS."""
    return dict(await form_fields(request))


async def form_fields(request, max_bytes: int = MAX_FORM_BODY_BYTES,
                      max_fields: int = MAX_FORM_FIELDS) -> list[tuple[str, str]]:
    """A url-encoded form body's fields in order, repeated names kept; a 400
    (or 413) API error past ``max_bytes`` or ``max_fields``."""
    body = await _limited_body(request, max_bytes, "Form body")
    try:
        return urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                      max_num_fields=max_fields)
    except UnicodeDecodeError:
        raise ApiError("Form body is not UTF-8")
    except ValueError:  # parse_qsl over max_num_fields
        raise ApiError(f"Form body has more than {max_fields} fields")


async def _limited_body(request, limit: int, what: str) -> bytes:
    """The whole request body; PayloadTooLarge as soon as it passes ``limit``."""
    chunks, size = [], 0
    while True:
        message = await request.receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} is larger than {human_size(limit)}")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


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
        raise file_not_found(file_id)
    if action != BROWSE and not await allowed_on_file(datasette, request.actor, action,
                                                      found[0]):
        raise Forbidden(f"You do not have {action} permission on file {file_id}")
    return found
