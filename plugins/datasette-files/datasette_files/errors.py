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


def file_not_found(file_id: str) -> NotFound:
    """The 404 for a file id that names no file the actor may see. Said the
    same whether the file never existed, was deleted, or is in a source the
    actor may not browse, so ids cannot be probed."""
    return NotFound(f"There is no file {file_id} here: it was deleted or moved to the "
                    "trash, or the link is wrong. Search the files, or look in the "
                    "trash of its source, to find it again.")


def file_gone_meanwhile(file_id: str) -> NotFound:
    """The 404 for a file deleted by someone else while a request was acting on it."""
    return NotFound(f"File {file_id} was deleted by someone else while this was being "
                    "done, so nothing happened to it. Reload the page to see the files "
                    "as they are now.")
