"""The door to every route of the plugin: an instance closed to an actor is
closed to its files too.

Datasette asks for ``view-instance`` on its own pages, not on the routes
plugins register, and the files-* grants say nothing about it: without this,
an instance whose configuration says ``allow: {roles: [member]}`` would serve
its files to anyone the files-* grants allow. ``plugin.register_routes`` wraps
every view in ``page`` or ``api``, before the view reads anything of the
request. The verdict for an actor is kept a few seconds (see
permissions.InstanceVerdicts): one permission query per actor, not per request.
"""

from __future__ import annotations

import functools
import inspect
from typing import Awaitable, Callable

from datasette import Response

from ..errors import Forbidden
from ..state import state
from .common import error_response, render
from .negotiation import answers_json

View = Callable[..., Awaitable[Response]]
MESSAGE = "You do not have permission to view this instance"


def api(view: View) -> View:
    """``view``, answering a JSON 403 to those the instance is closed to."""

    async def refuse(datasette, request):
        return _refuse_json()

    return _gated(view, refuse)


def page(view: View) -> View:
    """``view``, answering an HTML 403 with a link to log in to those the
    instance is closed to (JSON when the request asks for JSON)."""

    async def refuse(datasette, request):
        # The answer's format follows the path, then Accept, then the body's type.
        if request.path.endswith(".json") or answers_json(request):
            return _refuse_json()
        return await render(datasette, request, "files_forbidden.html",
                            {"message": MESSAGE}, status=403)

    return _gated(view, refuse)


def _gated(view: View, refuse) -> View:
    @functools.wraps(view)
    async def gated(datasette, request, **kwargs):
        if not await state(datasette).instance_verdicts.may_view(datasette, request.actor):
            return await refuse(datasette, request)
        return await view(datasette, request, **kwargs)

    # As json_api does: Datasette reads a view's signature on every request.
    gated.__signature__ = inspect.signature(view)
    return gated


def _refuse_json() -> Response:
    return error_response(Forbidden(MESSAGE))
