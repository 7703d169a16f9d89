"""Requests as bench/hostile.py's attacks send them: through httpx, recording
every status, and HTTP/1.1 by hand over asyncio sockets for what an HTTP
client library will not do: stream a body while watching for an early answer,
stop mid-body and hold the connection, or never finish the headers."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Iterable, Optional

import httpx

from hostile_server import Ctx

TEAM = "/-/files/upload/team"
# Up to 1 GiB a file (the team source's limit is 100 MiB).
ARCHIVE = "/-/files/upload/archive"


async def send(ctx: Ctx, client: httpx.AsyncClient, method: str, path: str, **kwargs):
    """The response, or the httpx error instead of raising it; recorded either way."""
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as ex:
        ctx.saw(ex)
        return ex
    ctx.saw(response)
    return response


def status_of(response) -> str:
    return str(response.status_code) if isinstance(response, httpx.Response) \
        else type(response).__name__


def counts(items) -> str:
    """'429×50, 200×10', most frequent first."""
    return ", ".join(f"{key}×{n}" for key, n in collections.Counter(items).most_common()) or "none"


def error_message(response) -> str:
    if not isinstance(response, httpx.Response):
        return type(response).__name__
    try:
        errors = response.json().get("errors")
        return "; ".join(map(str, errors))[:120] if errors else response.text[:120]
    except ValueError:
        return response.text[:120].replace("\n", " ")


def note_unexpected(ctx: Ctx, answers: list, expected: set[str]) -> None:
    """One detail line per other status (or error) and message, with its count."""
    seen = collections.Counter((status_of(a), error_message(a)) for a in answers
                               if status_of(a) not in expected)
    ctx.details += [f"{status}×{n}: {message}" for (status, message), n in seen.items()]


def mib(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.0f}"


async def put_file(ctx: Ctx, cookies: dict, name: str, content: bytes,
                   content_type: str = "application/octet-stream") -> Optional[dict]:
    async with ctx.client(cookies=cookies) as client:
        response = await send(ctx, client, "PUT", f"{TEAM}/{name}", content=content,
                              headers={"Content-Type": content_type})
    if isinstance(response, httpx.Response) and response.status_code in (200, 201):
        return response.json()["file"]
    return None


async def prepare(ctx: Ctx, client: httpx.AsyncClient, name: str, size: int,
                  upload: str = TEAM) -> Optional[str]:
    response = await send(ctx, client, "POST", f"{upload}/-/prepare",
                          json={"filename": name, "size": size})
    if isinstance(response, httpx.Response) and response.status_code == 200:
        return response.json().get("upload_token")
    return None


# By hand ------------------------------------------------------------------


@dataclass
class Answer:
    status: Optional[int]
    headers: dict
    body: bytes


def request_head(method: str, path: str, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(
        f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """One response (status, headers, body by Content-Length); status None if
    the server closed the connection without one."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return Answer(None, {}, b"")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Answer(None, {}, head)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = b""
    try:
        if "chunked" in headers.get("transfer-encoding", ""):
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
        else:
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        pass
    return Answer(status, headers, body)


@dataclass
class Streamed:
    answer: Answer
    sent: int  # body bytes written before the answer came (or the connection broke)
    seconds: float


async def stream_body(port: int, head: bytes, chunks: Iterable[bytes],
                      answer_timeout: float = 120) -> Streamed:
    """Send ``head`` then ``chunks`` until they end or the server answers (or
    closes), then wait for the answer."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(read_answer(reader))
    sent = 0
    try:
        writer.write(head)
        for chunk in chunks:
            if answer.done():
                break
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
    except (ConnectionError, OSError):
        pass
    try:
        result = await asyncio.wait_for(answer, answer_timeout)
    except asyncio.TimeoutError:
        result = Answer(None, {}, b"")
    writer.close()
    return Streamed(result, sent, loop.time() - started)


async def open_partial(port: int, head: bytes, body: bytes = b"",
                       local_address: Optional[str] = None):
    """A connection that has sent ``head`` (possibly incomplete) and ``body``,
    then nothing more: (reader, writer)."""
    local = (local_address, 0) if local_address else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    writer.write(head + body)
    await writer.drain()
    return reader, writer
