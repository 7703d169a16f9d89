"""Text clients send, read one way everywhere: whole numbers and JSON.

``str.isdigit()`` accepts "²" (which ``int()`` refuses) and "١" (which it
reads): a number here is ASCII digits only, small enough for SQLite.
"""

from __future__ import annotations

import json
import math
import re
from typing import Optional

# SQLite's integers are 64-bit signed; Python's are unbounded.
MAX_INTEGER = 2 ** 63 - 1
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def whole_number(text, minimum: int = 0, maximum: int = MAX_INTEGER) -> Optional[int]:
    """``text`` as an int from ``minimum`` to ``maximum``; None if it is not one."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def is_integer(value, minimum: int = -MAX_INTEGER - 1, maximum: int = MAX_INTEGER) -> bool:
    """Whether a decoded JSON value is an int (not a bool) SQLite can store."""
    return isinstance(value, int) and not isinstance(value, bool) and \
        minimum <= value <= maximum


_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJSON(ValueError):
    """Text that is not JSON, is nested too deeply, or has a non-finite number."""


def loads(text, max_depth: int):
    """Parse JSON with arrays and objects nested at most ``max_depth`` deep.

    NaN, Infinity and numbers too large for a float are refused: no client
    sends them on purpose, and code that compares them gets surprises.
    """
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # deeper than the interpreter's limit: deeper than ours
        raise InvalidJSON(f"nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as ex:
        raise InvalidJSON(str(ex)) from None
    if depth(data) > max_depth:
        raise InvalidJSON(f"nested deeper than {max_depth} levels")
    # Only an escape makes a lone surrogate, which no UTF-8 text (or database) holds.
    if ("\\u" in text if isinstance(text, str) else b"\\u" in text) and _has_surrogate(data):
        raise InvalidJSON("a string holds a lone surrogate (\\ud800-\\udfff): not text")
    return data


def depth(data) -> int:
    """How deeply arrays and objects nest in decoded JSON (a scalar is 0)."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, level = pending.pop()
        children = value.values() if isinstance(value, dict) else \
            value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in children)
    return deepest


def _has_surrogate(data) -> bool:
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is too large")
    return number
