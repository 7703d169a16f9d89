"""Clients that take their time: requests written by hand over a socket, sent in
parts, and waiting for the server to do something on its own."""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Callable, Optional


def wait_until(condition: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds (generous:
    the deadline is for a broken server, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what or condition}")
        time.sleep(0.1)


def start_request(port: int, method: str, path: str, headers: dict, body: bytes = b"",
                  timeout: float = 30) -> socket.socket:
    """A connection that has sent ``method path``, ``headers`` and the first
    ``body`` bytes, and waits for the caller to send the rest (or not)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\n{lines}\r\n".encode() + body)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """The response on ``sock``: status, headers (lower-case names), body."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def json_errors(body: bytes) -> str:
    payload = json.loads(body)
    assert payload["ok"] is False, payload
    return " ".join(payload["errors"])


def read_until_closed(sock: socket.socket) -> Optional[bytes]:
    """Everything the server sends until it closes the connection (None if it
    reset it); a socket.timeout if it keeps the connection open."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        return None
    return received
