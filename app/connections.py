"""A cap on open connections, and a deadline for each request's headers.

uvicorn closes idle keep-alive connections, but it has no deadline for request
headers that are still arriving (a connection that sends a byte now and then
stays open for good), and its ``limit_concurrency`` answers 503 only once the
headers are complete: 2,000 connections sending partial headers held 2,000
descriptors. This layer closes both gaps. It is a subclass of the HTTP protocol
class uvicorn would use, handed to uvicorn as its ``http`` protocol, and relies
only on what uvicorn's h11 and httptools classes both have: ``connections``
(the server's open connections), ``cycle`` (the connection's latest request,
None before the first) and its ``response_complete``, ``on_response_complete``,
``transport`` and ``loop``. It works on any event loop (asyncio's or uvloop's).

- A connection is *waiting* from when it opens, and again once a response has
  ended, until the next request's headers are complete. A connection that waits
  longer than the header deadline is closed (after a 408 if part of a request
  had arrived).
- Beyond the cap, a new connection takes the place of the one that has waited
  longest, which is closed (so an attacker's half-sent headers make way for a
  member's request). When every other connection has a request under way, the
  new one is answered 503 and closed. Either way the server never holds more
  than the cap's descriptors for connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Optional

log = logging.getLogger("app")

WARN_EVERY_SECONDS = 60


def _response(status: str, message: str) -> bytes:
    body = json.dumps({"ok": False, "errors": [message]}).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


TOO_MANY = _response("503 Service Unavailable",
                     "The server has too many open connections: try again shortly")
TOO_SLOW = _response("408 Request Timeout", "The request's headers took too long to arrive")


@dataclass
class _Waiting:
    # The connection's request when it began to wait: a different one means
    # the next request's headers have arrived.
    cycle: object
    deadline: asyncio.TimerHandle
    # Part of a request has arrived (else closing it needs no answer).
    partial: bool = False


class ConnectionGuard:
    """The cap and the header deadline of one server's connections."""

    def __init__(self, max_connections: int, header_seconds: float):
        self.max_connections = max_connections
        self.header_seconds = header_seconds
        # Connections waiting for a request's headers, the longest-waiting first.
        self.waiting: dict[asyncio.Protocol, _Waiting] = {}
        self._last_warning = -WARN_EVERY_SECONDS

    def protocol(self, base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
        """``base`` (uvicorn's H11Protocol or HttpToolsProtocol), guarded."""
        guard = self

        class Guarded(base):
            def connection_made(self, transport):
                super().connection_made(transport)
                guard.opened(self)

            def data_received(self, data: bytes) -> None:
                super().data_received(data)
                guard.received(self)

            def on_response_complete(self) -> None:
                super().on_response_complete()
                guard.responded(self)

            def connection_lost(self, exc: Optional[Exception]) -> None:
                guard.stop_waiting(self)
                super().connection_lost(exc)

        Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
        return Guarded

    def opened(self, connection) -> None:
        if len(connection.connections) > self.max_connections:
            self._warn_full()
            longest = next(iter(self.waiting), None)
            if longest is None:  # every other connection has a request under way
                self._close(connection, TOO_MANY)
                return
            self._close(longest, TOO_MANY if self.waiting[longest].partial else b"")
        self._start_waiting(connection)

    def received(self, connection) -> None:
        waiting = self.waiting.get(connection)
        if waiting is None:
            return
        if connection.cycle is waiting.cycle:
            waiting.partial = True
        else:  # the headers are complete: a request is under way
            self.stop_waiting(connection)

    def responded(self, connection) -> None:
        # A pipelined request may have started already (then it is under way).
        cycle = connection.cycle
        if cycle is None or cycle.response_complete:
            self._start_waiting(connection)

    def stop_waiting(self, connection) -> None:
        waiting = self.waiting.pop(connection, None)
        if waiting is not None:
            waiting.deadline.cancel()

    def _start_waiting(self, connection) -> None:
        self.stop_waiting(connection)
        if connection.transport.is_closing():
            return
        deadline = connection.loop.call_later(self.header_seconds, self._too_slow, connection)
        self.waiting[connection] = _Waiting(connection.cycle, deadline)

    def _too_slow(self, connection) -> None:
        waiting = self.waiting.get(connection)
        if waiting is not None:
            self._close(connection, TOO_SLOW if waiting.partial else b"")

    def _close(self, connection, answer: bytes) -> None:
        self.stop_waiting(connection)
        transport = connection.transport
        if transport.is_closing():
            return
        if answer:
            transport.write(answer)
        transport.close()

    def _warn_full(self) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("%d connections are open (MAX_CONNECTIONS): refusing or closing the "
                        "ones that wait longest for a request", self.max_connections)
