"""Streaming request bodies: raw, or multipart/form-data parsed as it arrives."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Optional

from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import ApiError, PayloadTooLarge

MAX_FIELD_BYTES = 64 * 1024


class ClientDisconnected(Exception):
    """The client went away before the request body was complete."""


@dataclass
class FilePart:
    """A multipart part that carries a file."""

    field_name: str
    filename: str
    content_type: Optional[str]


async def body_chunks(receive) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk, straight from the ASGI channel."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


class MultipartStream:
    """Reads a multipart body incrementally: form fields up to the first file
    part, then that file's bytes as a stream, so a file of any size is never
    held in memory."""

    def __init__(self, chunks: AsyncIterator[bytes], content_type_header: str):
        _, options = parse_options_header(content_type_header)
        boundary = options.get(b"boundary")
        if not boundary:
            raise ApiError("multipart/form-data request without a boundary")
        self._chunks = chunks
        self._events: deque[tuple[str, object]] = deque()
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": lambda: self._events.append(("end", None)),
            },
        )
        self._exhausted = False

    # Parser callbacks queue events; _next_event hands them out in order.
    def _on_part_begin(self):
        self._headers = {}

    def _on_header_field(self, data, start, end):
        self._header_field += data[start:end]

    def _on_header_value(self, data, start, end):
        self._header_value += data[start:end]

    def _on_header_end(self):
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _on_headers_finished(self):
        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        content_type = self._headers.get(b"content-type")
        self._events.append(
            (
                "part",
                (
                    disposition.get(b"name", b"").decode("utf-8", "replace"),
                    disposition.get(b"filename"),
                    content_type.decode("latin-1") if content_type else None,
                ),
            )
        )

    def _on_part_data(self, data, start, end):
        self._events.append(("data", bytes(data[start:end])))

    async def _next_event(self) -> Optional[tuple[str, object]]:
        while not self._events:
            if self._exhausted:
                return None
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                self._parser.finalize()
                continue
            try:
                self._parser.write(chunk)
            except Exception as ex:
                raise ApiError(f"Malformed multipart body: {ex}") from None
        return self._events.popleft()

    async def fields_until_file(self) -> tuple[dict[str, str], Optional[FilePart]]:
        """Read plain fields until a file part starts (or the body ends)."""
        fields: dict[str, str] = {}
        while True:
            event = await self._next_event()
            if event is None:
                return fields, None
            kind, value = event
            if kind != "part":
                continue
            name, filename, content_type = value
            if filename is not None:
                return fields, FilePart(
                    field_name=name,
                    filename=filename.decode("utf-8", "replace"),
                    content_type=content_type,
                )
            fields[name] = await self._read_field(name)

    async def _read_field(self, name: str) -> str:
        parts, size = [], 0
        while True:
            event = await self._next_event()
            if event is None or event[0] == "end":
                return b"".join(parts).decode("utf-8", "replace")
            if event[0] == "data":
                size += len(event[1])
                if size > MAX_FIELD_BYTES:
                    raise PayloadTooLarge(
                        f"Form field {name!r} is larger than {MAX_FIELD_BYTES} bytes"
                    )
                parts.append(event[1])

    async def file_data(self) -> AsyncIterator[bytes]:
        """The current file part's bytes, until the part ends."""
        while True:
            event = await self._next_event()
            if event is None or event[0] == "end":
                return
            if event[0] == "data":
                yield event[1]

    async def drain(self) -> None:
        """Consume the rest of the body, ignoring it."""
        while await self._next_event() is not None:
            pass
