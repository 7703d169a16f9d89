"""The bound on the memory that uploads streamed through the server to
buckets hold, and on how long a slow client may keep its share of it.

A write through the server holds up to three parts (``writes.put_stream``):
the one being received, the one being sent, and the HTTP library's copy of
it. Every write takes that much of one budget for the whole process (all
S3 sources share the server's memory) before it reads its first byte; a
write that finds no room waits, in turn, a short while, then is answered
503 with Retry-After: a flood of uploads gets 503s instead of the memory.

A write holds its room for as long as its client sends; a client sending a
byte a second would keep it for ever. Once the write has run ``GRACE_SECONDS``
it must have received ``MIN_BYTES_PER_SECOND`` on average; a write behind
that pace is cut off (408), but only while another write waits for room: a
slow client alone on the server harms nobody.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import AsyncIterator, Deque, Tuple

from ...base import StorageBusy, UploadTooSlow

# The part buffers of all writes through this server to buckets, together.
BUDGET_BYTES = 64 * 1024**2
# How long a write waits for room before its 503.
WAIT_SECONDS = 20
RETRY_AFTER_SECONDS = 5
# The slowest pace a write may keep while others wait for its room.
GRACE_SECONDS = 30
MIN_BYTES_PER_SECOND = 64 * 1024
# How often a write behind the pace looks again whether anyone waits.
RECHECK_SECONDS = 1.0


class WriteBudget:
    """Bytes of part buffers, given out in turn (first come, first served).
    Free of asyncio primitives bound to one event loop: one budget serves
    the process whatever loop runs it."""

    def __init__(self, total: int = BUDGET_BYTES):
        self.total = total
        self.used = 0
        self._waiting: Deque[Tuple[int, asyncio.Future]] = collections.deque()

    @property
    def contended(self) -> bool:
        """Whether a write is waiting for room."""
        return any(not future.done() for _, future in self._waiting)

    @contextlib.asynccontextmanager
    async def held(self, amount: int, wait_seconds: float = WAIT_SECONDS):
        """Hold ``amount`` bytes (at most the whole budget: one write always
        fits) for the block; StorageBusy after ``wait_seconds`` without room."""
        amount = min(amount, self.total)
        await self._take(amount, wait_seconds)
        try:
            yield
        finally:
            self._give_back(amount)

    async def _take(self, amount: int, wait_seconds: float) -> None:
        if not self.contended and self.used + amount <= self.total:
            self.used += amount
            return
        future = asyncio.get_running_loop().create_future()
        entry = (amount, future)
        self._waiting.append(entry)
        try:
            await asyncio.wait_for(future, wait_seconds)
        except asyncio.TimeoutError:
            raise StorageBusy("The server is busy storing other uploads: try again shortly",
                              retry_after=RETRY_AFTER_SECONDS) from None
        except BaseException:
            if future.done() and not future.cancelled():  # granted as it was cancelled
                self._give_back(amount)
            raise
        finally:
            if entry in self._waiting:
                self._waiting.remove(entry)

    def _give_back(self, amount: int) -> None:
        self.used -= amount
        while self._waiting:
            wanted, future = self._waiting[0]
            if future.done():  # gave up waiting
                self._waiting.popleft()
                continue
            if self.used + wanted > self.total:
                break
            self._waiting.popleft()
            self.used += wanted
            future.set_result(None)


# One budget for the whole process.
BUDGET = WriteBudget()


async def paced(stream: AsyncIterator[bytes], budget: WriteBudget,
                grace_seconds: float = GRACE_SECONDS,
                min_bytes_per_second: float = MIN_BYTES_PER_SECOND) -> AsyncIterator[bytes]:
    """``stream``'s chunks; UploadTooSlow once it falls behind the pace while
    ``budget`` has a write waiting (see the module's docstring)."""
    started = time.monotonic()
    received = 0
    chunks = stream.__aiter__()
    while True:
        receiving = asyncio.ensure_future(chunks.__anext__())
        try:
            while True:
                due = started + grace_seconds + received / min_bytes_per_second
                late = time.monotonic() >= due
                if late and budget.contended:
                    raise UploadTooSlow(
                        f"The upload arrived slower than {min_bytes_per_second // 1024} KiB/s "
                        "while other uploads waited: send it again on a faster connection")
                await asyncio.wait({receiving}, timeout=RECHECK_SECONDS if late
                                   else due - time.monotonic())
                if receiving.done():
                    break
            try:
                chunk = receiving.result()
            except StopAsyncIteration:
                return
        finally:
            if not receiving.done():
                receiving.cancel()
                with contextlib.suppress(BaseException):
                    await receiving
        received += len(chunk)
        yield chunk
