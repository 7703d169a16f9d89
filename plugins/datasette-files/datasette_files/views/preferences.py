"""GET and POST /-/files/-/preferences: how the pages look for this actor
(for now, the listing's view: Grid or List), kept so it follows them to
another browser; an anonymous visitor's is kept in a cookie instead."""

from __future__ import annotations

from datasette import Response

from ..errors import ApiError
from ..state import state
from ..uploads.storing import actor_id_of
from .common import json_api, json_object_body, require_method
from .list_view import PREFERENCES, VIEW_COOKIE

# A year: the cookie outlives a browser restart, as a saved choice should.
COOKIE_MAX_AGE = 365 * 24 * 3600


@json_api
async def preferences_view(datasette, request):
    """GET: the actor's preferences. POST a JSON object of some of them: they
    are saved, and all of them are answered."""
    require_method(request, "GET", "HEAD", "POST")
    actor_id = actor_id_of(request.actor)
    if request.method != "POST":
        saved = (await state(datasette).registry.preferences.of(actor_id)
                 if actor_id is not None else _from_cookies(request))
        return _answer(saved)
    changes = valid_preferences(await json_object_body(request))
    if actor_id is not None:
        return _answer(await state(datasette).registry.preferences.set(actor_id, changes))
    response = _answer({**_from_cookies(request), **changes})
    response.set_cookie(VIEW_COOKIE, changes["view"], max_age=COOKIE_MAX_AGE, path="/",
                        samesite="lax", httponly=True)
    return response


def valid_preferences(body: dict) -> dict[str, str]:
    """``body`` if it names only known preferences with allowed values, and
    at least one; else a 400 saying what is wrong."""
    if not body:
        raise ApiError(f"Send at least one preference: {', '.join(PREFERENCES)}")
    errors = []
    for name, value in body.items():
        if name not in PREFERENCES:
            errors.append(f"Unknown preference {name!r}: the preferences are "
                          f"{', '.join(PREFERENCES)}")
        elif not isinstance(value, str) or value not in PREFERENCES[name]:
            errors.append(f"'{name}' must be one of {', '.join(PREFERENCES[name])}")
    if errors:
        raise ApiError(*errors)
    return body


def _from_cookies(request) -> dict[str, str]:
    view = request.cookies.get(VIEW_COOKIE)
    return {"view": view} if view in PREFERENCES["view"] else {}


def _answer(preferences: dict[str, str]) -> Response:
    return Response.json({"ok": True, "preferences": preferences})
