"""Login sessions: Datasette's signed ``ds_actor`` cookie ({"a": actor, "e":
expiry}), read once per distinct cookie, and given a lifetime when it is set.

datasette-auth-passwords signs a session with no expiry, so a copied cookie
would work for as long as the secret lasts; every session cookie the server
sets gets an expiry (signed inside it, so it cannot be extended) and a
matching Max-Age.
"""

from __future__ import annotations

import functools
import time
from typing import Optional

from datasette.utils import baseconv
from itsdangerous import BadSignature

SESSION_COOKIE = "ds_actor"
NAMESPACE = "actor"


def session_actor(datasette, request) -> Optional[dict]:
    """The actor of the request's session cookie, None if it has none, or one
    that is forged or expired. Read as Datasette reads it; the signature check
    (a new serializer each time: a twentieth of a small upload's CPU) is done
    once per distinct cookie, the expiry on every request."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = _verified_session(datasette, cookie)
    if session is None or _expired(session):
        return None
    return session["a"]


def with_lifetime(datasette, cookie: str, seconds: int) -> tuple[str, Optional[int]]:
    """``cookie`` (a session being set) re-signed to expire within ``seconds`` (an
    earlier expiry it has stays), and the seconds it has left; unchanged, with
    None, if it is not a valid session."""
    session = _verified_session(datasette, cookie)
    if session is None:
        return cookie, None
    now = int(time.time())
    expires_at = now + seconds
    if session.get("e"):
        expires_at = min(expires_at, _expiry(session))
    signed = datasette.sign({**session, "e": baseconv.base62.encode(expires_at)}, NAMESPACE)
    return signed, max(0, expires_at - now)


@functools.lru_cache(maxsize=1024)
def _verified_session(datasette, cookie: str) -> Optional[dict]:
    try:
        session = datasette.unsign(cookie, NAMESPACE)
    except BadSignature:
        return None
    return session if isinstance(session, dict) and "a" in session else None


def _expiry(session: dict) -> int:
    return int(baseconv.base62.decode(session["e"]))


def _expired(session: dict) -> bool:
    return bool(session.get("e")) and time.time() > _expiry(session)
