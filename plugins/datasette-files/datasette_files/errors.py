"""Errors, and the JSON shape every API error takes."""

from __future__ import annotations

import functools
import logging

import click
from typing import Awaitable, Callable

from datasette import Response
from datasette.utils import error_body

log = logging.getLogger("datasette_files")


class ConfigError(click.ClickException):
    """The plugin configuration is wrong; start-up stops with this message.

    A ClickException, so ``datasette serve`` prints it as one line and exits 1.
    """


class ApiError(Exception):
    """An error answered as ``{"ok": false, "errors": [...]}`` with ``status``."""

    status = 400

    def __init__(self, *messages: str, status: int | None = None, **details):
        super().__init__("; ".join(messages))
        self.messages = list(messages)
        # Machine-readable facts beside the messages, e.g. an upload's "received".
        self.details = details
        if status is not None:
            self.status = status

    def response(self) -> Response:
        body = {**error_body(self.messages, self.status), **self.details}
        return Response.json(body, status=self.status)


class NotFound(ApiError):
    status = 404


class Forbidden(ApiError):
    status = 403


class PayloadTooLarge(ApiError):
    status = 413


class InsufficientStorage(ApiError):
    status = 507


def json_api(view: Callable[..., Awaitable[Response]]):
    """Wrap a view so that every failure answers JSON, never an HTML page.

    ApiError becomes its own status; anything unexpected is logged and answered
    as a JSON 500 without internal details.
    """

    @functools.wraps(view)
    async def wrapper(datasette, request, **kwargs):
        try:
            return await view(datasette, request, **kwargs)
        except ApiError as ex:
            return ex.response()
        except Exception:
            log.exception("datasette-files: unexpected error in %s", request.path)
            return ApiError("Internal error", status=500).response()

    return wrapper


def require_method(request, *methods: str) -> None:
    if request.method not in methods:
        raise ApiError(
            f"Method {request.method} not allowed here; use {' or '.join(methods)}",
            status=405,
        )
