"""The plugin's errors: configuration problems, and errors answered to a client.

``ApiError`` and its kinds carry the HTTP status they are answered with; the
views turn them (and the storages' errors, see ``base``) into responses.
"""

from __future__ import annotations

import click


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


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class PayloadTooLarge(ApiError):
    status = 413


class InsufficientStorage(ApiError):
    status = 507
