"""Sizes as people read them, for every message that mentions one."""

from __future__ import annotations

UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(size: int) -> str:
    """1536 is '1.5 KiB', 104857600 '100.0 MiB', 5 '5 bytes': as the pages'
    templates (Jinja's ``filesizeformat(true)``) and ``format.js`` write them."""
    if abs(size) < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def human_sizes(size: int, other: int) -> tuple[str, str]:
    """Both sizes in units; in exact bytes when the units would show them equal
    (a file one byte over a 100 MiB limit is not "100.0 MiB, at most 100.0 MiB")."""
    shown, other_shown = human_size(size), human_size(other)
    if shown == other_shown and size != other:
        return f"{size:,} bytes", f"{other:,} bytes"
    return shown, other_shown
