"""Query parameters and cursors, parsed one way by every view.

A malformed value is a 400 naming the parameter and what it must be (an
ApiError: JSON views answer it as JSON, pages as an error page).
"""

from __future__ import annotations

import base64
import json
from typing import Optional, Sequence

from ..errors import ApiError
from ..parsing import MAX_INTEGER, is_integer, loads, whole_number

# Cursors this plugin hands out are a few dozen characters; a longer one is not ours.
MAX_CURSOR_CHARS = 2048
INVALID_CURSOR = "Invalid cursor: use the 'next' value of a previous page"
# The listing sorts whose values (and so cursors) are whole numbers; these
# list the largest first unless asked otherwise.
NUMERIC_SORTS = ("date", "size", "modified")


def number_param(args, name: str, default: int, minimum: int = 1,
                 maximum: int = MAX_INTEGER) -> int:
    """Query parameter ``name`` as a whole number; ``default`` when absent or empty."""
    text = args.get(name)
    if text is None or text == "":
        return default
    number = whole_number(text, minimum, maximum)
    if number is None:
        allowed = f"{minimum} or more" if maximum == MAX_INTEGER else f"from {minimum} to {maximum}"
        raise ApiError(f"'{name}' must be a whole number, {allowed}")
    return number


def choice_param(args, name: str, choices: Sequence[str], default: Optional[str]):
    """Query parameter ``name``, one of ``choices``; ``default`` when absent or empty."""
    value = args.get(name) or default
    if value is not None and value not in choices:
        raise ApiError(f"'{name}' must be one of {', '.join(choices)}")
    return value


def encode_listing_cursor(value, seq: int) -> str:
    """The ``next`` cursor of a source listing: the last file's sort value and seq."""
    return _encoded_pair(value, seq)


def listing_cursor(file, sort: str) -> str:
    """A source listing's cursor at ``file`` (a FileRow) in the order of ``sort``."""
    value = {"date": file.seq, "name": file.filename, "size": file.size,
             "type": file.content_type, "modified": file.modified_ns,
             "uploader": file.uploaded_by}[sort]
    return encode_listing_cursor(value, file.seq)


def decode_listing_cursor(cursor: Optional[str], value_is_number: bool) -> Optional[tuple]:
    """``(value, seq)`` from a listing's ``next`` cursor; None when there is none.

    The value is a whole number for the numeric sorts, text for the others,
    or null (a file without a size or type); anything else is a 400.
    """
    if not cursor:
        return None
    value, seq = _decoded_pair(cursor)
    value_fits = value is None or (is_integer(value) if value_is_number
                                   else isinstance(value, str))
    if not value_fits or not is_integer(seq, minimum=0):
        raise ApiError(INVALID_CURSOR)
    return value, seq


def encode_trash_cursor(trashed_at: str, item_id: str) -> str:
    """The ``next`` cursor of a trash listing: the last item's time and id."""
    return _encoded_pair(trashed_at, item_id)


def decode_trash_cursor(cursor: Optional[str]) -> Optional[tuple]:
    """``(trashed_at, id)`` from a trash listing's cursor; None when there is none."""
    if not cursor:
        return None
    pair = _decoded_pair(cursor)
    if not all(isinstance(part, str) for part in pair):
        raise ApiError(INVALID_CURSOR)
    return pair


def _encoded_pair(first, second) -> str:
    return base64.urlsafe_b64encode(json.dumps([first, second]).encode()).decode().rstrip("=")


def _decoded_pair(cursor: str) -> tuple:
    """The two values a cursor holds, or a 400."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ApiError(INVALID_CURSOR)
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True)
        decoded = loads(raw, max_depth=1)
    except ValueError:  # not base64 (binascii.Error), not JSON (InvalidJSON)
        raise ApiError(INVALID_CURSOR) from None
    if not isinstance(decoded, list) or len(decoded) != 2:
        raise ApiError(INVALID_CURSOR)
    return tuple(decoded)
