"""Search cursors: where a page starts, as an opaque string.

A cursor holds the page's number (for "page 3 of 20"), the direction (the
page after a position, or the one before it), and the position: the sort
values and seq of a result (keyset: deep pages cost what the first does), or
an offset into a ranked list.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Optional

from ...parsing import InvalidJSON, is_integer, loads

MAX_CURSOR_CHARS = 2048


class InvalidCursor(ValueError):
    """A cursor that no page of this search gave out."""


@dataclass(frozen=True)
class Cursor:
    page: int  # the number of the page it leads to
    position: tuple  # (segment, *sort values, seq), or (offset,) for a ranked list
    backwards: bool = False  # the page before ``position``, not after it
    ranked: bool = False

    def encode(self) -> str:
        data = [self.page, "r" if self.ranked else "k", int(self.backwards), list(self.position)]
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: Optional[str]) -> Optional["Cursor"]:
        """None for no cursor; InvalidCursor for one that is not ours."""
        if not text:
            return None
        if len(text) > MAX_CURSOR_CHARS:
            raise InvalidCursor(_MESSAGE)
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
            page, kind, backwards, position = loads(raw, max_depth=2)
        except (ValueError, TypeError, InvalidJSON):
            raise InvalidCursor(_MESSAGE) from None
        if not (is_integer(page, minimum=1) and kind in ("r", "k") and backwards in (0, 1)
                and isinstance(position, list) and 1 <= len(position) <= 4
                and all(_scalar(value) for value in position)):
            raise InvalidCursor(_MESSAGE)
        if kind == "r" and not (len(position) == 1 and is_integer(position[0], minimum=0)):
            raise InvalidCursor(_MESSAGE)
        if kind == "k" and not (is_integer(position[0], minimum=0, maximum=9)
                                and is_integer(position[-1])):
            raise InvalidCursor(_MESSAGE)
        return cls(page, tuple(position), bool(backwards), kind == "r")


_MESSAGE = "Invalid cursor: use the 'next' or 'previous' value of a previous page"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str) or is_integer(value)
