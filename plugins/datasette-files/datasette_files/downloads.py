"""Streaming downloads with validators, conditional GET, single ranges and HEAD.

Downloads are attachments with ``nosniff`` and a sandboxing CSP, so an
uploaded HTML or SVG file can never run script on our origin. The inline
routes (views/inline.py) serve raster images, audio and video through the
same machinery as ``inline``, with the same two headers.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import AsyncIterator, Callable, Literal, Optional

from datasette import Response
from datasette.utils import error_body

from .base import AttachmentUrls, FileMissing, OpenedReads, OpenFile, RangeReads
from .clock import parse_timestamp
from .naming import DEFAULT_CONTENT_TYPE, content_disposition, is_valid_content_type
from .registry import FileRow, Registry
from .sources import Source

SIGNED_URL_SECONDS = 300
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
Disposition = Literal["attachment", "inline"]


class StreamingResponse:
    """An ASGI response whose body is an async iterator of bytes."""

    def __init__(self, status: int, headers: dict, body: Optional[AsyncIterator[bytes]]):
        self.status = status
        self.headers = headers
        self.body = body

    async def asgi_send(self, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    [key.encode("latin-1"), str(value).encode("latin-1")]
                    for key, value in self.headers.items()
                ],
            }
        )
        if self.body is not None:
            async for chunk in self.body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def etag_for(file: FileRow) -> str:
    """The file's hash; until it is hashed, its id, size and modification time
    (when known), so that changed bytes never keep the old ETag."""
    content_hash = file.content_hash or ""
    if content_hash.startswith("sha256:"):
        return f'"{content_hash[7:]}"'
    if file.mtime_ns is not None:
        return f'"{file.id}-{file.size}-{file.mtime_ns}"'
    return f'"{file.id}-{file.size}"'


async def download_response(request, file: FileRow, source: Source, registry: Registry,
                            on_changed: Callable[[], None],
                            disposition: Disposition = "attachment"):
    """The response for GET or HEAD of ``/-/files/{id}/download`` (or, with
    ``disposition="inline"``, of the inline routes: the caller has checked the
    type).

    The storage's errors (``FileMissing``, ``UnsafePath``) are raised before any
    byte is sent: the file is opened, and its first chunk read, first; an
    answer without a body asks the storage whether the file is there.

    A storage that says what it opened (``OpenedReads``, as ours does) has its
    bytes checked against the registry first: bytes whose size or modification
    time changed since they were registered are registered anew (hashed again
    later; ``on_changed`` hears of it) and served with their new size and
    validators, never cut short or under the old ETag.
    """
    caps = source.capabilities
    # Inline bytes always pass through us: a storage's signed URL would be
    # served with the storage's headers (an attachment, or no sandbox at all).
    if (disposition == "attachment" and caps.can_generate_signed_urls
            and not caps.requires_proxy_download):
        if isinstance(source.storage, AttachmentUrls):
            url = await source.storage.attachment_url(
                file.path, file.filename, _served_type(file), SIGNED_URL_SECONDS)
        else:
            url = await source.storage.download_url(file.path, SIGNED_URL_SECONDS)
        return Response.redirect(url, headers={"Cache-Control": "no-store"})
    if not isinstance(source.storage, OpenedReads):
        status, headers, byte_range = _answer(request, file, disposition)
        if byte_range is None:
            await _check_present(source, file)
            return _without_bytes(request, status, headers)
        return StreamingResponse(status, headers, await _opened(_stream(source, file.path,
                                                                        *byte_range)))
    opened = await source.storage.open_file(file.path)
    try:
        file = await _as_stored(registry, file, opened, on_changed)
        status, headers, byte_range = _answer(request, file, disposition)
        if byte_range is None:
            await opened.close()
            return _without_bytes(request, status, headers)
        body = await _opened(opened.stream_range(*byte_range))
    except BaseException:
        await opened.close()
        raise
    return StreamingResponse(status, headers, body)


async def read_as_registered(registry: Registry, file: FileRow, source: Source, limit: int,
                             on_changed: Callable[[], None]) -> tuple[FileRow, bytes]:
    """Up to ``limit`` bytes of ``file`` as stored now, and the file as those
    bytes are: bytes that changed since they were registered are registered
    anew (as a download does), so the file returned has no ``content_hash``
    and nothing made from them is kept under the old bytes' hash, which other
    files share. A storage that cannot say what it opened is read as it is."""
    if not isinstance(source.storage, OpenedReads):
        return file, await source.storage.read_bytes(file.path, limit)
    opened = await source.storage.open_file(file.path)
    try:
        file = await _as_stored(registry, file, opened, on_changed)
        if limit <= 0 or opened.size == 0:
            await opened.close()
            return file, b""
        chunks = [chunk async for chunk in
                  opened.stream_range(0, min(limit, opened.size) - 1)]
    except BaseException:
        await opened.close()
        raise
    return file, b"".join(chunks)


async def _as_stored(registry: Registry, file: FileRow, opened: OpenFile,
                     on_changed: Callable[[], None]) -> FileRow:
    """``file`` as the bytes just opened are: registered anew if they changed."""
    if opened.size != file.size or (file.mtime_ns is not None
                                    and opened.mtime_ns != file.mtime_ns):
        # As sync registers a changed file: the hash, dimensions and thumbnails
        # described the old bytes.
        await registry.synced.update([(opened.size, opened.mtime_ns, file.id)], [])
        on_changed()
        return replace(file, size=opened.size, mtime_ns=opened.mtime_ns, content_hash=None,
                       width=None, height=None, hash_failures=0)
    if file.mtime_ns is None:
        # Uploaded and not yet seen by a sync: from now on a same-size edit shows.
        await registry.files.stamp_mtime(file.id, opened.mtime_ns)
        return replace(file, mtime_ns=opened.mtime_ns)
    return file


def _answer(request, file: FileRow,
            disposition: Disposition) -> tuple[int, dict, Optional[tuple[int, int]]]:
    """The status, the headers and the bytes (start, end) to send, or None for
    an answer without a body."""
    size = file.size or 0
    etag = etag_for(file)
    last_modified = _last_modified(file)
    headers = {
        "content-type": _served_type(file),
        "content-disposition": content_disposition(file.filename, disposition),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, no-cache",
        "accept-ranges": "bytes",
        "etag": etag,
        "last-modified": format_datetime(last_modified, usegmt=True),
    }
    if _not_modified(request, etag, last_modified):
        return 304, _validators_only(headers), None

    byte_range = _requested_range(request, etag, size)
    if byte_range == "unsatisfiable":
        return 416, {**_validators_only(headers), "content-range": f"bytes */{size}"}, None
    status, start, end = 200, 0, size - 1
    if byte_range is not None:
        status, (start, end) = 206, byte_range
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    headers["content-length"] = str(max(end - start + 1, 0))
    if request.method == "HEAD" or size == 0:
        return status, headers, None
    return status, headers, (start, end)


def _served_type(file: FileRow) -> str:
    """The registered type, when it is a valid one."""
    content_type = file.content_type or DEFAULT_CONTENT_TYPE
    return content_type if is_valid_content_type(content_type) else DEFAULT_CONTENT_TYPE


def _without_bytes(request, status: int, headers: dict):
    """An answer with none of the file's bytes: 304, HEAD, an empty file, or
    416 with the JSON error every other refusal has (and the size in
    Content-Range)."""
    if status != 416:
        return StreamingResponse(status, headers, None)
    size = headers["content-range"].rpartition("/")[2]
    message = f"Range {request.headers.get('range')!r} is outside the file's {size} bytes"
    return Response.json(error_body([message], 416), status=416, headers=headers)


def _last_modified(file: FileRow) -> datetime:
    """When the bytes were written, if known (in whole seconds, as the header
    says it), else when the file was registered."""
    if file.mtime_ns is None:
        return parse_timestamp(file.created_at)
    return datetime.fromtimestamp(file.mtime_ns // 10**9, timezone.utc)


async def _check_present(source: Source, file: FileRow) -> None:
    if await source.storage.get_file_metadata(file.path) is None:
        raise FileMissing(f"no file at {file.path!r} in storage")


def _validators_only(headers: dict) -> dict:
    keep = ("etag", "last-modified", "cache-control", "accept-ranges", "x-content-type-options")
    return {key: headers[key] for key in keep}


def _not_modified(request, etag: str, last_modified) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            return last_modified <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def _requested_range(request, etag: str, size: int):
    """``(start, end)`` for one satisfiable range, "unsatisfiable", or None to
    send the whole file (no Range, a stale If-Range, or several ranges)."""
    header = request.headers.get("range")
    if not header:
        return None
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = _position(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), size - 1
    start = _position(first)
    end = size - 1 if last == "" else min(_position(last), size - 1)
    if start >= size or (last != "" and _position(last) < start):
        return "unsatisfiable"
    return start, end


def _position(digits: str) -> int:
    """A byte position from the header's digits; one past any file for more
    digits than int() converts (it refuses 4,300) or than any size has."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else 10**19


async def _opened(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream`` with its first chunk read already, so that a missing file fails
    before the response starts."""
    try:
        first = await stream.__anext__()
    except StopAsyncIteration:
        first = b""

    async def resumed():
        try:
            yield first
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()

    return resumed()


async def _stream(source: Source, path: str, start: int, end: int) -> AsyncIterator[bytes]:
    storage = source.storage
    if isinstance(storage, RangeReads):
        async for chunk in storage.stream_range(path, start, end):
            yield chunk
        return
    # A backend with only the spec's stream_file: skip to the start, stop at the end.
    position = 0
    async for chunk in source.storage.stream_file(path):
        chunk_end = position + len(chunk)
        if chunk_end > start and position <= end:
            yield chunk[max(start - position, 0) : end - position + 1]
        position = chunk_end
        if position > end:
            break
