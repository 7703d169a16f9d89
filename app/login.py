"""Logging in and out: the login form (/-/login), as datasette-auth-passwords
serves it, and /-/logout, as Datasette serves it, with server-side sessions.

Checking a password takes a pbkdf2 hash: it runs on the password checker's own
pool (passwords.py), never on the event loop. An unknown username is checked
against a dummy hash, so the answer's timing does not tell which usernames
exist.

Failed attempts are limited per client address (LoginThrottle, before the form
is read) and per account: after ACCOUNT_LIMIT failures in ACCOUNT_WINDOW an
account takes no more attempts, except from addresses its member logged in
from within the last 30 days, so a stranger's guesses cannot lock a member
out. Unknown usernames are counted the same way: the answer never tells
whether an account exists.
"""

from __future__ import annotations

import sqlite3
from typing import Optional
from urllib.parse import parse_qsl

from datasette import Response
from datasette.events import LogoutEvent
from datasette.utils import error_body

from .login_state import LoginState, login_state
from .middleware import client_address
from .passwords import LoginsBusy
from .sessions import SESSION_COOKIE

MAX_FORM_BYTES = 16 * 1024
# Attempts are counted by username as typed; a longer one is no member's.
ACCOUNT_KEY_CHARACTERS = 100


async def login(request, datasette):
    state = login_state(datasette)
    error = None if state.password_hashes else "This instance does not have any configured accounts"
    if request.method == "POST":
        form = dict(parse_qsl((await request.post_body(max_bytes=MAX_FORM_BYTES))
                              .decode("utf-8", "replace"), keep_blank_values=True))
        username = form.get("username") or ""
        address = client_address(request.scope)
        refused = await _account_refusal(state, username, address)
        if refused:
            return refused
        key = username[:ACCOUNT_KEY_CHARACTERS]
        attempt = state.accounts.begin(key)
        password_hash = state.password_hashes.get(username)
        try:
            matches = await state.passwords.verify(form.get("password") or "", password_hash)
        except LoginsBusy as busy:
            state.accounts.cancel(key, attempt)  # nothing was checked
            # 429, not 503: this client should wait and retry; the server is fine.
            return json_error(429, "The server is busy checking other logins: try again in a "
                              "few seconds", retry_after=busy.retry_after)
        if password_hash and matches:
            state.accounts.cancel(key, attempt)
            try:
                cookie, max_age = await state.sessions.start(username, address)
            except sqlite3.Error as ex:  # the data volume full or failing
                return json_error(503, f"Could not record the login: {ex}")
            response = Response.redirect(datasette.urls.path("/"))
            response.set_cookie(SESSION_COOKIE, cookie, max_age=max_age, httponly=True)
            return response
        error = "Invalid username or password"
    return Response.html(await datasette.render_template(
        "password_login.html", {"error": error}, request=request))


async def _account_refusal(state: LoginState, username: str, address: str
                           ) -> Optional[Response]:
    wait = state.accounts.refusal(username[:ACCOUNT_KEY_CHARACTERS])
    if wait is None or await state.sessions.logged_in_from(username, address):
        return None
    return json_error(429, f"Too many failed logins for this account: try again in {wait}s, "
                      "or log in from a device that has logged in as it before",
                      retry_after=wait)


async def logout(request, datasette):
    """GET: the account page (log out here, or everywhere). POST: end this
    login on the server too, so a copy of the cookie stops working."""
    if request.method != "POST":
        if not request.actor:
            return Response.redirect(datasette.urls.instance())
        return Response.html(await datasette.render_template(
            "logout.html", {"actor": request.actor}, request=request))
    sessions = login_state(datasette).sessions
    session_id = sessions.session_id(request.cookies.get(SESSION_COOKIE))
    if session_id:
        await sessions.end(session_id)
    return await logged_out(datasette, request, "You are now logged out")


async def logged_out(datasette, request, message: str) -> Response:
    """The redirect that clears the session cookie, as Datasette's logout answers."""
    response = Response.redirect(datasette.urls.instance())
    datasette.delete_actor_cookie(response)
    datasette.add_message(request, message, datasette.WARNING)
    await datasette.track_event(LogoutEvent(actor=request.actor))
    return response


def json_error(status: int, message: str, retry_after: Optional[int] = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Response.json(error_body([message], status), status=status, headers=headers)
