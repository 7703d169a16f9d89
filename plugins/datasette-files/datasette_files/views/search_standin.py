"""TEMPORARY: what CONTRACT18 promises the search page, until main's engine
lands (then this module is deleted and the page imports the real ones).

Filters are parsed and echoed, but not passed to the current search().
"""

from __future__ import annotations

import datetime
import re
from types import SimpleNamespace
from dataclasses import asdict, dataclass
from typing import Optional

from ..errors import ApiError


@dataclass(frozen=True)
class Kind:
    name: str
    label: str


KINDS = tuple(Kind(name, label) for name, label in [
    ("image", "Image"), ("video", "Video"), ("audio", "Audio"), ("pdf", "PDF"),
    ("document", "Document"), ("spreadsheet", "Spreadsheet"),
    ("presentation", "Presentation"), ("archive", "Archive"), ("text", "Text")])
LABELS = {kind.name: kind.label for kind in KINDS} | {"other": "Other"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "k": 1024, "m": 1024**2,
          "g": 1024**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


@dataclass
class SearchFilters:
    source: Optional[str] = None
    kinds: tuple = ()
    uploader: Optional[str] = None
    since: Optional[str] = None
    until: Optional[str] = None
    min_size: Optional[int] = None
    max_size: Optional[int] = None
    folder: Optional[str] = None

    @classmethod
    def from_args(cls, args) -> "SearchFilters":
        kinds = [k for v in args.getlist("kind") for k in v.split(",") if k]
        for kind in kinds:
            if kind not in LABELS:
                raise ApiError(f"'kind' must be among {', '.join(LABELS)}")
        return cls(source=args.get("source") or None, kinds=tuple(kinds), uploader=args.get("uploader") or None,
                   since=_date(args, "since"), until=_date(args, "until"),
                   min_size=_size(args, "min_size"), max_size=_size(args, "max_size"),
                   folder=args.get("folder") or None)

    def as_json(self) -> dict:
        return asdict(self)


def _date(args, name):
    value = args.get(name) or None
    if value is not None:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ApiError(f"'{name}' must be a date, YYYY-MM-DD") from None
    return value


def _size(args, name):
    value = args.get(name) or None
    if value is None:
        return None
    match = _SIZE.match(value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ApiError(f"'{name}' must be a size in bytes, or a number with a unit: 10MB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


async def search(index, allowed, *, query, filters, sort, cursor, limit):
    """The engine's search() as CONTRACT18 has it, over today's."""
    page = await index.search(allowed, query=query, source=filters.source,
                              folder=filters.folder, cursor=cursor, limit=limit,
                              sort=sort if sort in ("relevance", "newest") else None)
    return SimpleNamespace(**vars(page), previous_cursor=None, page=1, pages=1,
                           pages_is_capped=False, matches={})
