"""Sending a zip: the response that streams it, and cuts it off visibly when
it breaks or its client stalls or leaves."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Optional

from ..downloads import content_disposition
from .slots import ArchiveSlot
from .writer import ZipArchive

log = logging.getLogger("datasette_files")
# A client that takes no byte for this long loses its download (and its place).
SEND_STALL_SECONDS = 60.0
# Bytes gathered before a send.
SEND_BYTES = 256 * 1024


class ArchiveResponse:
    """200 ``application/zip``, its length known, its bytes streamed.

    When a member cannot be read mid-way, the response ends without its last
    chunk: the client sees a body shorter than its Content-Length (and, over
    HTTP/1.1, a connection closed mid-message), never a shorter zip that
    looks whole."""

    def __init__(self, archive: ZipArchive, filename: str, slot: ArchiveSlot, receive,
                 stall_seconds: float = SEND_STALL_SECONDS):
        """``receive`` is the request's: it tells when the client goes away
        (the server's ``send`` then drops the bytes without a word)."""
        self.archive = archive
        self.receive = receive
        self.filename = filename
        self.slot = slot
        self.stall_seconds = stall_seconds
        self.headers = {
            "content-type": "application/zip",
            "content-length": str(len(archive)),
            "content-disposition": content_disposition(filename),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        }

    async def asgi_send(self, send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [[key.encode("latin-1"), value.encode("latin-1")]
                                    for key, value in self.headers.items()]})
            failure = await self._send_body(send)
            if failure is None:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                # Returning without the last message: the server closes the connection.
                log.warning("datasette-files: zip %r cut off: %s", self.filename, failure)
        finally:
            self.slot.give_back()

    async def _send_body(self, send) -> Optional[str]:
        """None once every byte is sent; otherwise why the body stopped."""
        chunks = self.archive.chunks()
        gone = asyncio.ensure_future(self._disconnected())
        try:
            async for piece in _coalesced(chunks):
                sending = asyncio.ensure_future(send(
                    {"type": "http.response.body", "body": piece, "more_body": True}))
                # The server's send waits while the client reads nothing, and
                # keeps waiting once it has gone: watched, not trusted.
                await asyncio.wait({sending, gone}, timeout=self.stall_seconds,
                                   return_when=asyncio.FIRST_COMPLETED)
                if not sending.done():
                    sending.cancel()
                    if gone.done():
                        return "the client went away"
                    return f"the client took no byte for {self.stall_seconds:.0f} s"
                sending.result()
                if gone.done():
                    return "the client went away"
        except Exception as ex:  # ArchiveBroken, or a storage's error
            return str(ex) or type(ex).__name__
        finally:
            gone.cancel()
            await chunks.aclose()
        return None

    async def _disconnected(self) -> None:
        """Returns once the client has gone."""
        while (await self.receive())["type"] != "http.disconnect":
            pass  # the rest of a request body nobody reads


async def _coalesced(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` gathered into pieces of at least SEND_BYTES (the last may be
    less): small members' headers and bytes go out together, not as a send
    each."""
    pending: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if len(chunk) >= SEND_BYTES:
            # A large chunk goes as it is: copying it into a piece costs more
            # than the send it would save.
            if pending:
                yield b"".join(pending)
                pending, size = [], 0
            yield chunk
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= SEND_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)
