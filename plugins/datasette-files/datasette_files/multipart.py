"""Streaming request bodies: raw, or multipart/form-data parsed as it arrives."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Optional, Union

from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import ApiError, PayloadTooLarge
from .sizes import human_size

# Plain fields are held in memory, so they are capped together, their headers
# included: the upload form has one short field (upload_token) before its file.
# A file part's headers are not counted in (a batch upload sends a thousand
# file parts): python_multipart caps each part's (8 lines of about 4 KiB).
MAX_FIELDS = 32
MAX_FIELDS_BYTES = 64 * 1024


class ClientDisconnected(Exception):
    """The client went away before the request body was complete."""


@dataclass
class FormField:
    """A plain multipart field, read whole."""

    name: str
    value: str


@dataclass
class FilePart:
    """A multipart part that carries a file: its bytes come from file_data()."""

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


# RFC 2046's bchars, at most 70 of them, not ending in a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


class MultipartStream:
    """Reads a multipart body incrementally: form fields one at a time, and each
    file part's bytes as a stream, so a file of any size is never held in
    memory, and the fields at most MAX_FIELDS_BYTES."""

    def __init__(self, chunks: AsyncIterator[bytes], content_type_header: str):
        _, options = parse_options_header(content_type_header)
        boundary = options.get(b"boundary")
        if not boundary:
            raise ApiError("multipart/form-data request without a boundary")
        if not _BOUNDARY.fullmatch(boundary):
            raise ApiError("The multipart boundary must be 1 to 70 ASCII letters, digits "
                           "or '()+_,-./:=? (RFC 2046)")
        self._chunks = chunks
        self._events: deque[tuple[str, object]] = deque()
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
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
        self._fields = 0
        self._field_bytes = 0
        self._draining = False

    # Parser callbacks queue events; _next_event hands them out in order.
    def _on_part_begin(self):
        self._headers = {}
        self._header_bytes = 0

    def _on_header_field(self, data, start, end):
        if not self._draining:
            self._header_bytes += end - start
            self._header_field += data[start:end]

    def _on_header_value(self, data, start, end):
        if not self._draining:
            self._header_bytes += end - start
            self._header_value += data[start:end]

    def _count_field_bytes(self, size: int) -> None:
        self._field_bytes += size
        if self._field_bytes > MAX_FIELDS_BYTES:
            raise PayloadTooLarge(f"The form's fields are larger than "
                                  f"{human_size(MAX_FIELDS_BYTES)} in total")

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
                    self._header_bytes,
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
            except ApiError:
                raise
            except Exception as ex:
                raise ApiError(f"Malformed multipart body: {ex}") from None
        return self._events.popleft()

    async def next_part(self) -> Union[FormField, FilePart, None]:
        """The next plain field, read whole, or the file part that starts (read
        its bytes with file_data()); None at the end of the body. PayloadTooLarge
        past MAX_FIELDS fields or MAX_FIELDS_BYTES."""
        while True:
            event = await self._next_event()
            if event is None:
                return None
            kind, value = event
            if kind != "part":
                continue
            name, filename, content_type, header_bytes = value
            if filename is not None:
                return FilePart(field_name=name, filename=filename.decode("utf-8", "replace"),
                                content_type=content_type)
            self._fields += 1
            if self._fields > MAX_FIELDS:
                raise PayloadTooLarge(f"The form has more than {MAX_FIELDS} fields")
            self._count_field_bytes(header_bytes)
            return FormField(name, await self._read_field())

    async def _read_field(self) -> str:
        parts = []
        while True:
            event = await self._next_event()
            if event is None or event[0] == "end":
                return b"".join(parts).decode("utf-8", "replace")
            if event[0] == "data":
                self._count_field_bytes(len(event[1]))
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
        """Consume the rest of the body, ignoring it (headers too: none is kept)."""
        self._draining = True
        while await self._next_event() is not None:
            pass
