"""ASGI middleware around Datasette: the access log, security headers, session
cookie flags, login throttling, and passwords checked at the login form only.

The client address and scheme they see are those app/proxies.py believed:
forwarding headers count only from FORWARDED_ALLOW_IPS, so a header made up
by anyone else changes nothing here.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from typing import Callable

import urllib.parse

from .attempts import RecentAttempts

HSTS = "max-age=31536000; includeSubDomains"
SESSION_COOKIE = b"ds_actor="
LOGIN_PATH = "/-/login"
PASSWORD_TOOL_PATH = "/-/password-tool"


def _is_https(scope) -> bool:
    return scope.get("scheme") == "https"


class SecurityHeaders:
    """Adds nosniff, Referrer-Policy, frame-ancestors (and HSTS over HTTPS) to
    every response, and HttpOnly/SameSite=Lax/Secure to the session cookie."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        https = _is_https(scope)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": _secured(message["headers"], https)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """An access log line for every request, in uvicorn's format, written once
    the response has been sent (uvicorn's own access log is turned off)."""

    def __init__(self, app, logger: logging.Logger):
        self.app = app
        self.logger = logger

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = None

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            status = status or 500  # what uvicorn answers for it
            raise
        finally:
            if status is not None:
                self.logger.info('%s - "%s %s HTTP/%s" %d', _client(scope), scope["method"],
                                 _path_and_query(scope), scope["http_version"], status)


def _client(scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def _path_and_query(scope) -> str:
    path = urllib.parse.quote(scope.get("root_path", "") + scope["path"])
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('ascii', 'replace')}" if query else path


def _secured(headers, https: bool) -> list:
    present = {name.lower() for name, _ in headers}
    result = []
    for name, value in headers:
        lower = name.lower()
        if lower == b"set-cookie" and value.startswith(SESSION_COOKIE):
            value = _session_cookie(value, https)
        elif lower == b"content-security-policy" and b"frame-ancestors" not in value:
            value += b"; frame-ancestors 'none'"
        result.append((name, value))
    defaults = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if b"content-security-policy" not in present:
        defaults.append((b"content-security-policy", b"frame-ancestors 'none'"))
    if https:
        defaults.append((b"strict-transport-security", HSTS.encode()))
    result.extend((name, value) for name, value in defaults if name not in present)
    return result


def _session_cookie(value: bytes, https: bool) -> bytes:
    attributes = {part.strip().split(b"=")[0].lower() for part in value.split(b";")[1:]}
    if b"httponly" not in attributes:
        value += b"; HttpOnly"
    if b"samesite" not in attributes:
        value += b"; SameSite=Lax"
    if https and b"secure" not in attributes:
        value += b"; Secure"
    return value


class LoginThrottle:
    """Per client address: at most ``limit`` failed logins per ``window``
    seconds, ``checks`` logins of any outcome per ``window``, and ``in_flight``
    at a time; beyond any of them, 429.

    A login attempt (a POST to /-/login) counts as a failure from the moment it
    starts, so guesses sent all at once are limited too; it is taken back when
    it succeeds (a redirect) or when no password was checked: the login answered
    429 (the password checker is busy, or the account is refused) or 503.
    Successes count too, at the higher ``checks`` limit, and only ``in_flight``
    may wait for the password checker at once: someone with a member's password
    cannot fill the checker's queue and keep everyone else from logging in."""

    def __init__(self, app, limit: int = 10, window: float = 600, checks: int = 60,
                 in_flight: int = 2, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.failures = RecentAttempts(limit, window, clock)
        self.checks = RecentAttempts(checks, window, clock)
        self.most_in_flight = in_flight
        self.in_flight: dict[str, int] = {}

    async def __call__(self, scope, receive, send):
        if not (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == LOGIN_PATH):
            return await self.app(scope, receive, send)
        client = client_address(scope)
        retry_after = self.failures.refusal(client) or self.checks.refusal(client)
        if retry_after is not None:
            return await _too_many(send, retry_after)
        if self.in_flight.get(client, 0) >= self.most_in_flight:
            return await send_json_error(
                send, 429, "Another login from your address is still being checked: try "
                "again in a moment", [(b"retry-after", b"1")])
        attempt = self.failures.begin(client)
        check = self.checks.begin(client)
        self.in_flight[client] = self.in_flight.get(client, 0) + 1
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            left = self.in_flight.pop(client) - 1
            if left:
                self.in_flight[client] = left
            if status.get("code") in (301, 302, 303, 429, 503):
                self.failures.cancel(client, attempt)
            if status.get("code") in (429, 503):
                self.checks.cancel(client, check)


def client_address(scope) -> str:
    """The client's address as uvicorn gives it (from X-Forwarded-For only when
    the request comes from the trusted proxy; see app/proxies.py), as a
    key for limits: an IPv6 address stands for its /64 network, which one
    machine commonly has whole."""
    host = (scope.get("client") or ("unknown", 0))[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


class PasswordsAtLoginOnly:
    """Passwords are checked at /-/login only, where failures are throttled and
    the hash runs in a thread (app/login.py).

    datasette-auth-passwords also checks HTTP Basic credentials on any URL and
    hashes any password POSTed to /-/password-tool, for anyone: each is a pbkdf2
    hash, about 0.2 s on the event loop during which no other request is
    served, and neither is throttled (a side door for guessing passwords).
    Both are refused here. Scripts use API tokens (Authorization: Bearer);
    hashes for new members come from `files-server member NAME`.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if scope["path"] == PASSWORD_TOOL_PATH:
                return await send_json_error(
                    send, 404, "Not available here: `files-server member NAME` makes a "
                    "member's password hash")
            for name, value in scope["headers"]:
                if name == b"authorization" and value[:6].lower() == b"basic ":
                    return await send_json_error(
                        send, 401, "HTTP Basic authentication is not accepted: log in at "
                        "/-/login, or send an API token as 'Authorization: Bearer ...'")
        return await self.app(scope, receive, send)


async def _too_many(send, retry_after: int) -> None:
    await send_json_error(send, 429,
                      f"Too many failed logins from your address: try again in {retry_after}s",
                      [(b"retry-after", str(retry_after).encode())])


async def send_json_error(send, status: int, message: str, headers=()) -> None:
    """Answer ``{"ok": false, "errors": [message]}`` with ``status``, from ASGI
    middleware (the views answer with Datasette's Response)."""
    body = json.dumps({"ok": False, "errors": [message], "status": status}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})
