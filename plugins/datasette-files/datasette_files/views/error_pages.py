"""The plugin's error pages: rendered with the request, so the header keeps the
signed-in member's name and menu (Datasette's own error page is rendered
without them), each saying in plain words what went wrong and what to do next.

Used by the ``handle_exception`` and ``forbidden`` hooks on the plugin's HTML pages;
JSON answers (paths ending in ``.json``) stay Datasette's and ``json_api``'s.
"""

from __future__ import annotations

import re
from typing import Optional

from datasette import Response
from datasette.utils.asgi import Base400

from ..naming import FILE_ID_PATTERN
from ..permissions import BROWSE, allowed_on_source
from ..state import state
from .common import render

PREFIX = "/-/files"
# A page about one file: its page, or its CSV import.
FILE_PAGE = re.compile(rf"^/-/files/(?:import/)?(?P<file_id>{FILE_ID_PATTERN})(?:/|$)")
# A page about one source.
SOURCE_PAGE = re.compile(r"^/-/files/(?:source|upload|trash)/(?P<slug>[^/.]+)$")

TITLES = {400: "Something in this address is not right", 403: "Not allowed",
          404: "Not found", 405: "Not allowed here", 409: "In conflict"}


def is_our_page(datasette, request) -> bool:
    """Whether ``request`` is for one of the plugin's HTML pages."""
    path = _local_path(datasette, request)
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.endswith(".json")


async def exception_page(datasette, request, exception: Base400) -> Response:
    """The page for ``exception`` raised while answering ``request``."""
    return await error_page(datasette, request, getattr(exception, "status", 400),
                            str(exception.args[0]) if exception.args else "")


async def error_page(datasette, request, status: int, message: str) -> Response:
    """The page answering ``request`` with ``status``, ``message`` saying why."""
    path = _local_path(datasette, request)
    steps: list[dict] = []
    lead, title = None, TITLES.get(status, f"Error {status}")
    file_page = FILE_PAGE.match(path)
    source_page = SOURCE_PAGE.match(path)
    if status == 404 and file_page:
        title = "This file is not here"
        lead = "This file no longer exists, or you may not see it."
        message = f"File {file_page['file_id']}"
        steps.append(_step("Search the files", "/-/files/search", datasette))
    elif status == 404 and message == "404":  # no route matched: Datasette's bare 404
        lead, message = "There is no page at this address.", ""
    elif status == 403:
        lead = "You may not do this here."
    elif status == 400:
        lead = "This page could not be shown with the options in its address."
        steps.append({"label": "Open this page without them", "href": path})
    if source_page and status != 404:
        slug = await _browsable_source(datasette, request, source_page["slug"])
        if slug and not path.startswith(f"{PREFIX}/source/"):
            steps.append(_step(f"Back to {slug}", f"/-/files/source/{slug}", datasette))
    steps.append(_step("Go to the Files page, to see the sources you may browse",
                       "/-/files", datasette))
    return await render(datasette, request, "files_error.html", {
        "status": status, "title": title, "lead": lead, "message": message,
        "steps": steps, "offer_login": status in (403, 404),
    }, status=status)


async def _browsable_source(datasette, request, slug: str) -> Optional[str]:
    """``slug`` when it names a source the actor may browse (for a link to it)."""
    if slug not in state(datasette).sources:
        return None
    if not await allowed_on_source(datasette, request.actor, BROWSE, slug):
        return None
    return slug


def _step(label: str, path: str, datasette) -> dict:
    return {"label": label, "href": datasette.urls.path(path)}


def _local_path(datasette, request) -> str:
    """The request's path without the instance's base_url."""
    path = request.path
    base = datasette.urls.path("/")
    if base != "/" and path.startswith(base):
        path = "/" + path[len(base):]
    return path
