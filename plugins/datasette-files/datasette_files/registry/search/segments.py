"""Streams of results in a fixed order, read one page at a time from a position.

A search's results are one or more segments, one after the other (for
relevance over many matches: the files matching every word, then the files
matching some; for size: the files of known size, then the others). Each
segment is a query ordered by its keys, the last one seq, that can start
after (or before) a position: a keyset, so a deep page seeks its index
instead of counting rows from the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, Optional


@dataclass
class Segment:
    """``select(condition, order)`` is an SQL query (without LIMIT) returning
    the files' columns in ``order``; ``condition`` ('' or 'AND ...') keeps the
    rows past the position. ``keys`` are the SQL expressions of the position,
    the last one the row's seq, each compared with its ``collations`` entry
    on the value's side (where SQLite can still seek the index);
    ``descending`` is the segment's own order."""

    keys: list[str]
    descending: bool
    select: Callable[[str, str], str]
    collations: list[str] = field(default_factory=list)
    # Instead of one query: ``fetch(after, backwards, want)`` returns up to
    # ``want`` files and, when it stopped reading short of them, the position
    # to go on from (else None).
    fetch: Optional[Callable[[Optional[list], bool, int], Awaitable[tuple]]] = None

    def query(self, after: Optional[list], backwards: bool, params: dict) -> str:
        """The segment's rows past ``after`` (all of them when None), in its
        order, or in reverse order before ``after`` when ``backwards``."""
        descending = self.descending != backwards
        collations = self.collations or [""] * len(self.keys)
        condition = ""
        if after is not None:
            names = []
            for i, value in enumerate(after):
                params[f"df_after{i}"] = value
                names.append(f":df_after{i}{collations[i]}")
            comparison = "<" if descending else ">"
            condition = (f"AND ({', '.join(self.keys)}) {comparison} ({', '.join(names)})"
                         if len(self.keys) > 1 else f"AND {self.keys[0]} {comparison} {names[0]}")
        direction = "DESC" if descending else "ASC"
        order = ", ".join(f"{key}{collation} {direction}"
                          for key, collation in zip(self.keys, collations))
        return self.select(condition, order)
