"""A view's own Cache-Control, kept through Datasette's router.

Datasette answers ``Cache-Control: private, no-store`` to any request that
carries a cookie or credentials, whatever the view said: right for pages,
wrong for a thumbnail whose URL changes with its content, which a browser may
keep for good. A view that means its header says so with ``keep_cache_control``,
and ``KeepCacheControl`` (an ``asgi_wrapper``, outside the router) puts it back.
"""

from __future__ import annotations

KEEP_HEADER = "x-datasette-files-cache-control"
_KEEP = KEEP_HEADER.encode()


def keep_cache_control(response, value: str):
    """``response``, marked to be sent with ``Cache-Control: value``."""
    response.headers[KEEP_HEADER] = value
    return response


class KeepCacheControl:
    """ASGI middleware: a response marked by ``keep_cache_control`` leaves with
    that Cache-Control, and without the mark. Only thumbnail and PDF page
    paths are looked at."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not (scope["path"].endswith("/thumbnail")
                                           or "/-/pdf-page/" in scope["path"]):
            return await self.app(scope, receive, send)

        async def send_kept(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                kept = [value for name, value in headers if name.lower() == _KEEP]
                if kept:
                    headers = [(name, value) for name, value in headers
                               if name.lower() not in (_KEEP, b"cache-control")]
                    headers.append((b"cache-control", kept[-1]))
                    message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_kept)
