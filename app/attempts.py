"""Login attempts per key (a client address, an account name) in a sliding
window, counted when they start.

An attempt counts from the moment it starts, so guesses sent all at once are
limited as surely as guesses sent one by one: while an attempt is in flight it
counts as a failure, and it is taken back only once it is known to have
succeeded (or was never checked).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Optional

# Above this many keys, those with no recent attempt are forgotten.
MAX_KEYS = 10_000


class RecentAttempts:
    """At most ``limit`` attempts per key in any ``window`` seconds."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._by_key: dict[str, deque] = {}
        self._sweep_above = MAX_KEYS

    def refusal(self, key: str) -> Optional[int]:
        """The seconds to wait before ``key`` may try again; None if it may now."""
        recent = self._recent(key)
        if len(recent) < self.limit:
            return None
        return int(recent[0] + self.window - self.clock()) + 1

    def begin(self, key: str) -> float:
        """Count an attempt by ``key`` from now; returns its mark for cancel()."""
        mark = self.clock()
        self._recent(key).append(mark)
        return mark

    def cancel(self, key: str, mark: float) -> None:
        """Take back the attempt begun at ``mark``: it succeeded, or no password
        was checked."""
        recent = self._by_key.get(key)
        if recent is not None and mark in recent:
            recent.remove(mark)

    def _recent(self, key: str) -> deque:
        recent = self._by_key.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while recent and recent[0] < cutoff:
            recent.popleft()
        if len(self._by_key) > self._sweep_above:
            self._sweep(keep=key)
        return recent

    def _sweep(self, keep: str) -> None:
        """Forget keys with no attempt in the window (bounded memory under a
        spray of addresses or names); sweep again only once as many more came."""
        cutoff = self.clock() - self.window
        for key in [k for k, v in self._by_key.items() if k != keep and (not v or v[-1] < cutoff)]:
            del self._by_key[key]
        self._sweep_above = max(MAX_KEYS, 2 * len(self._by_key))
