"""What the server holds in memory about uploads in progress (nothing to undo
after a crash: a restart forgets it, and clients retry)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..errors import Conflict


@dataclass
class UploadSessions:
    # Upload tokens whose bytes a request is receiving right now.
    in_progress: set[str] = field(default_factory=set)
    # token -> (bytes received, running sha256) of resumable uploads between chunks
    chunk_hashes: dict = field(default_factory=dict)
    # time.monotonic() of the last sweep of expired upload tokens
    last_expiry_run: float = 0.0
    # That sweep, while it runs (beside the request that started it).
    expiry_task: Optional[asyncio.Task] = None

    @contextlib.contextmanager
    def receiving(self, token: str, busy_message: str, **details) -> Iterator[None]:
        """Only one request receives an upload's bytes at a time (one process, one
        event loop: the check and the claim cannot interleave)."""
        if token in self.in_progress:
            raise Conflict(busy_message, **details)
        self.in_progress.add(token)
        try:
            yield
        finally:
            self.in_progress.discard(token)

    def forget(self, token: str) -> None:
        self.chunk_hashes.pop(token, None)
