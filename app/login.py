"""The login form (/-/login), as datasette-auth-passwords serves it, with the
password checked off the event loop.

Checking a password is a pbkdf2 hash, about 0.2 s: datasette-auth-passwords
does it on the event loop, so every login attempt stalled every other request
for that long. Here it runs in a thread (hashlib releases the GIL), with the
plugin's own hashes, template and session cookie. An unknown username is
checked against a dummy hash, so the answer's timing does not tell which
usernames exist.
"""

from __future__ import annotations

import asyncio
import functools
import secrets

from datasette import Response
from datasette_auth_passwords.utils import hash_password, verify_password

from .config import AUTH_PLUGIN, PASSWORD_HASH_SUFFIX


async def login(request, datasette):
    config = datasette.plugin_config(AUTH_PLUGIN) or {}
    accounts = {key[: -len(PASSWORD_HASH_SUFFIX)]: value for key, value in config.items()
                if key.endswith(PASSWORD_HASH_SUFFIX)}
    error = None if accounts else "This instance does not have any configured accounts"
    if request.method == "POST":
        form = await request.post_vars()
        username = form.get("username") or ""
        password = form.get("password") or ""
        password_hash = accounts.get(username)
        matches = await asyncio.to_thread(
            verify_password, password, password_hash or _dummy_hash())
        if password_hash and matches:
            actor = (config.get("actors") or {}).get(username) or {"id": username}
            response = Response.redirect(datasette.urls.path("/"))
            response.set_cookie("ds_actor", datasette.sign({"a": actor}, "actor"))
            return response
        error = "Invalid username or password"
    return Response.html(await datasette.render_template(
        "password_login.html", {"error": error}, request=request))


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
