"""Ending logins: a member signs out everywhere, an admin signs a member out.

Both are POSTs, so Datasette's cross-origin protection refuses them from
another site's page. A browser's form is answered with a redirect (its own
cookie cleared too); any other client with JSON.
"""

from __future__ import annotations

from datasette import Response

from .config import ADMIN_ROLE
from .login import json_error, logged_out
from .login_state import login_state


async def sign_out_everywhere(request, datasette):
    """End every login of the member making the request."""
    if request.method != "POST":
        return json_error(405, "Use POST to sign out everywhere")
    if not request.actor:
        return json_error(401, "You are not logged in: log in at /-/login first")
    member = str(request.actor["id"])
    ended = await login_state(datasette).sessions.end_member(member)
    if _is_form(request):
        return await logged_out(datasette, request, f"You are now logged out everywhere "
                                f"({ended} logins ended)")
    return _signed_out(member, ended)


async def sign_member_out(request, datasette):
    """An admin ends every login of the member named in the URL."""
    if request.method != "POST":
        return json_error(405, "Use POST to sign a member out")
    if not request.actor:
        return json_error(401, "You are not logged in: log in at /-/login first")
    if ADMIN_ROLE not in (request.actor.get("roles") or []):
        return json_error(403, "Only an admin can sign a member out")
    member = request.url_vars["member"]
    return _signed_out(member, await login_state(datasette).sessions.end_member(member))


def _signed_out(member: str, ended: int) -> Response:
    return Response.json({"ok": True, "member": member, "signed_out": ended})


def _is_form(request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
