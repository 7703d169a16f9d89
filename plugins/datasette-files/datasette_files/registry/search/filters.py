"""What a search may be narrowed to: source, folder, kind, uploader, dates, sizes.

Each filter is a predicate on the files table; the search engine also asks
how many files each one leaves (through its index), to start from the
narrowest.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Optional

from ...errors import ApiError
from ...kinds import KIND_NAMES
from ...parsing import MAX_INTEGER
from ..folders import below_sql

_SIZE = re.compile(r"^\s*([0-9]{1,15}(?:\.[0-9]{1,6})?)\s*([a-z]*)\s*$", re.IGNORECASE)
# 1000-based for kB/MB/GB (as disks and browsers say), 1024-based for KiB...
# and for a bare k/m/g, as people type them.
_UNITS = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
    "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}


@dataclass(frozen=True)
class SearchFilters:
    """Filters of a search; None (or empty) leaves a filter out."""

    source: Optional[str] = None
    folder: Optional[str] = None  # with ``source``: this folder and below
    kinds: tuple[str, ...] = ()
    uploader: Optional[str] = None
    since: Optional[str] = None  # "YYYY-MM-DD", inclusive
    until: Optional[str] = None  # "YYYY-MM-DD", inclusive
    min_size: Optional[int] = None
    max_size: Optional[int] = None

    @classmethod
    def from_args(cls, args) -> "SearchFilters":
        """The filters a request's query parameters name; ApiError (400) on a bad one."""
        kinds = []
        for value in args.getlist("kind"):
            for name in value.split(","):
                name = name.strip().lower()
                if not name:
                    continue
                if name not in KIND_NAMES:
                    raise ApiError(f"'kind' must be one of {', '.join(KIND_NAMES)}")
                kinds.append(name)
        filters = cls(
            source=args.get("source") or None,
            folder=(args.get("folder") or "").strip("/") or None,
            kinds=tuple(dict.fromkeys(kinds)),
            uploader=args.get("uploader") or None,
            since=_date(args, "since"),
            until=_date(args, "until"),
            min_size=_size(args, "min_size"),
            max_size=_size(args, "max_size"),
        )
        if filters.since and filters.until and filters.since > filters.until:
            raise ApiError("'since' must not be after 'until'")
        if filters.min_size is not None and filters.max_size is not None \
                and filters.min_size > filters.max_size:
            raise ApiError("'min_size' must not be larger than 'max_size'")
        return filters

    def as_json(self) -> dict:
        return {"kind": list(self.kinds), "uploader": self.uploader, "since": self.since,
                "until": self.until, "min_size": self.min_size, "max_size": self.max_size,
                "folder": self.folder}

    @property
    def narrowing(self) -> list[str]:
        """The names of the filters in use, other than source."""
        return [name for name, value in self.as_json().items()
                if value not in (None, [], ())]

    def predicates(self, params: dict, alias: str = "f.") -> list[str]:
        """SQL conditions (on the files table as ``alias``), adding their parameters."""
        where = []
        if self.source is not None:
            where.append(f"{alias}source_slug = :df_source")
            params["df_source"] = self.source
        if self.folder:
            where.append(folder_predicate(alias))
            params["df_folder"] = self.folder
        if self.kinds:
            names = ", ".join(f":df_kind{i}" for i in range(len(self.kinds)))
            where.append(f"{alias}kind IN ({names})")
            params.update({f"df_kind{i}": kind for i, kind in enumerate(self.kinds)})
        if self.uploader is not None:
            where.append(f"{alias}uploaded_by = :df_uploader")
            params["df_uploader"] = self.uploader
        if self.since:
            where.append(f"{alias}created_at >= :df_since")
            params["df_since"] = self.since
        if self.until:
            where.append(f"{alias}created_at < :df_until")
            params["df_until"] = _next_day(self.until)
        if self.min_size is not None:
            where.append(f"{alias}size >= :df_min_size")
            params["df_min_size"] = self.min_size
        if self.max_size is not None:
            where.append(f"{alias}size <= :df_max_size")
            params["df_max_size"] = self.max_size
        return where


def folder_predicate(alias: str = "f.") -> str:
    return f"({alias}folder = :df_folder OR {below_sql(alias + 'folder', ':df_folder')})"


def _next_day(date: str) -> str:
    """A bound above every time of ``date``: the next day, or after the last
    day of the calendar, its date and "~" (which sorts after " " and "T")."""
    day = datetime.date.fromisoformat(date)
    if day == datetime.date.max:
        return date + "~"
    return (day + datetime.timedelta(days=1)).isoformat()


def _date(args, name: str) -> Optional[str]:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        date = datetime.date.fromisoformat(text)
    except ValueError:
        raise ApiError(f"'{name}' must be a date, YYYY-MM-DD") from None
    return date.isoformat()


def _size(args, name: str) -> Optional[int]:
    text = args.get(name) or ""
    if not text.strip():
        return None
    match = _SIZE.match(text)
    unit = match and _UNITS.get(match.group(2).lower())
    if not match or unit is None:
        raise ApiError(f"'{name}' must be a size in bytes, or with a unit: 500KB, 10MB, 1.5GiB")
    value = round(float(match.group(1)) * unit)
    if value > MAX_INTEGER:
        raise ApiError(f"'{name}' is too large")
    return value
