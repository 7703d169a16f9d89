"""The hot routes, answered ahead of Datasette's router.

Small files are uploaded one request each, and pages load many thumbnails and
downloads (ranges, when a video seeks), so the router's per-request work (route
matching over every route, the messages cookie, view argument inspection, span
naming) was about a fifth of the event loop's time per request. This ASGI
wrapper takes ``PUT /-/files/upload/{slug}/{filename}`` and ``GET``/``HEAD`` of
``/-/files/{id}/download`` and ``/-/files/{id}/thumbnail`` straight to their
views, keeping what the router does for safety: Datasette's cross-origin
protection, the actor from every ``actor_from_request`` hook (a rejected token
answers 401), and the router's cache headers (a response to someone signed in
is private and not stored; ``Vary`` names Cookie and Authorization).
Permission checks happen in the views, as on every route. With settings that
change routing (base_url, CORS, forced https URLs) requests take the router,
where the same routes are registered.
"""

from __future__ import annotations

import re
from typing import Optional

from datasette.csrf import CrossOriginProtectionMiddleware
from datasette.plugins import pm
from datasette.tokens import TokenInvalid
from datasette.utils import await_me_maybe
from datasette.utils.asgi import Request, Response

from .views.files import download_view, thumbnail_view
from .views.uploads import put_view

# (methods, path, view): the same paths as the routes registered with Datasette.
FAST_ROUTES = [
    ({"PUT"}, re.compile(r"^/-/files/upload/(?P<slug>[^/]+)/(?P<filename>[^/]+)$"), put_view),
    ({"GET", "HEAD"}, re.compile(r"^/-/files/(?P<file_id>[^/]+)/download$"), download_view),
    ({"GET", "HEAD"}, re.compile(r"^/-/files/(?P<file_id>[^/]+)/thumbnail$"), thumbnail_view),
]


def fast_paths(datasette):
    """An ``asgi_wrapper`` hook's result: wraps Datasette's app."""

    def wrap(app):
        if (datasette.setting("base_url") != "/" or datasette.cors
                or datasette.setting("force_https_urls")):
            return app
        routes = [(methods, path, CrossOriginProtectionMiddleware(_ViewApp(datasette, view),
                                                                  datasette))
                  for methods, path, view in FAST_ROUTES]

        async def app_with_fast_paths(scope, receive, send):
            if scope["type"] == "http":
                path = None
                for methods, pattern, view_app in routes:
                    if scope["method"] in methods:
                        path = path or _path(scope) or ""
                        match = pattern.match(path)
                        if match:
                            scope = dict(scope, url_route={"kwargs": match.groupdict()})
                            return await view_app(scope, receive, send)
            return await app(scope, receive, send)

        return app_with_fast_paths

    return wrap


class _ViewApp:
    def __init__(self, datasette, view):
        self.datasette = datasette
        self.view = view

    async def __call__(self, scope, receive, send):
        request = Request(scope, receive)
        try:
            actor = await _actor(self.datasette, request)
        except TokenInvalid as ex:
            response = Response.error([str(ex)], 401, headers={
                "www-authenticate": 'Bearer error="invalid_token"'})
        else:
            request.scope = dict(scope, actor=actor or scope.get("actor"))
            response = await self.view(self.datasette, request)
        _as_the_router_would(request, response.headers)
        await response.asgi_send(send)


def _as_the_router_would(request, headers: dict) -> None:
    """The router's cache headers: a response that depends on who asks is
    private and not stored, and every response varies on Cookie and Authorization."""
    if (request.scope.get("actor") is not None or "cookie" in request.headers
            or "authorization" in request.headers
            or any(key.lower() == "set-cookie" for key in headers)):
        for key in [key for key in headers if key.lower() == "cache-control"]:
            del headers[key]
        headers["cache-control"] = "private, no-store"
    vary = [part.strip() for key, value in headers.items() if key.lower() == "vary"
            for part in str(value).split(",") if part.strip()]
    if "*" not in vary:
        vary += [name for name in ("Cookie", "Authorization")
                 if name.lower() not in {part.lower() for part in vary}]
    for key in [key for key in headers if key.lower() == "vary"]:
        del headers[key]
    headers["vary"] = ", ".join(vary)


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
