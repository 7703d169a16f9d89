"""One-request PUT uploads, answered ahead of Datasette's router.

Small files are uploaded one request each, so the router's per-request work
(route matching over every route, the messages cookie, view argument
inspection, span naming) was about a fifth of the event loop's time per file.
This ASGI wrapper takes ``PUT /-/files/upload/{slug}/{filename}`` straight to
the view, keeping what the router does for safety: Datasette's cross-origin
protection, the actor from every ``actor_from_request`` hook (a rejected token
answers 401), and private, uncacheable responses. Permission checks happen in
the view, as on every route. With settings that change routing (base_url,
CORS, forced https URLs) requests take the router, where the same route is
registered.
"""

from __future__ import annotations

import re
from typing import Optional

from datasette.csrf import CrossOriginProtectionMiddleware
from datasette.plugins import pm
from datasette.tokens import TokenInvalid
from datasette.utils import await_me_maybe
from datasette.utils.asgi import Request, Response

from .views.uploads import put_view

PUT_PATH = re.compile(r"^/-/files/upload/(?P<slug>[^/]+)/(?P<filename>[^/]+)$")


def put_fast_path(datasette):
    """An ``asgi_wrapper`` hook's result: wraps Datasette's app."""

    def wrap(app):
        if (datasette.setting("base_url") != "/" or datasette.cors
                or datasette.setting("force_https_urls")):
            return app
        protected_put = CrossOriginProtectionMiddleware(_PutApp(datasette), datasette)

        async def app_with_put_fast_path(scope, receive, send):
            if scope["type"] == "http" and scope["method"] == "PUT":
                match = PUT_PATH.match(_path(scope) or "")
                if match:
                    scope = dict(scope, url_route={"kwargs": match.groupdict()})
                    return await protected_put(scope, receive, send)
            return await app(scope, receive, send)

        return app_with_put_fast_path

    return wrap


class _PutApp:
    def __init__(self, datasette):
        self.datasette = datasette

    async def __call__(self, scope, receive, send):
        request = Request(scope, receive)
        try:
            actor = await _actor(self.datasette, request)
        except TokenInvalid as ex:
            response = Response.error([str(ex)], 401, headers={
                "www-authenticate": 'Bearer error="invalid_token"'})
        else:
            request.scope = dict(scope, actor=actor or scope.get("actor"))
            response = await put_view(self.datasette, request)
        # As the router does for any response that depends on who asks.
        response.headers["cache-control"] = "private, no-store"
        response.headers["vary"] = "Cookie, Authorization"
        await response.asgi_send(send)


async def _actor(datasette, request):
    """The first actor any actor_from_request hook finds (every hook's result is
    awaited); TokenInvalid if a presented token was rejected."""
    actor, token_error = None, None
    for result in pm.hook.actor_from_request(datasette=datasette, request=request):
        try:
            result = await await_me_maybe(result)
        except TokenInvalid as ex:
            token_error = token_error or ex
            continue
        if result and actor is None:
            actor = result
    if token_error is not None:
        raise token_error
    return actor


def _path(scope) -> Optional[str]:
    # Like the router: raw_path keeps "%2F" apart from "/". A path that is not
    # ASCII is left to the router.
    raw_path = scope.get("raw_path")
    try:
        path = raw_path.decode("ascii") if raw_path else scope["path"]
    except UnicodeDecodeError:
        return None
    return path.partition("?")[0]
