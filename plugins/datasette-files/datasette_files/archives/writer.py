"""The zip itself, written by zipstream-ng as the bytes are read from storage.

zipstream-ng writes stored (uncompressed) members with data descriptors, so
it needs no member's CRC before its bytes, and knows the archive's exact
length before the first byte (``sized``): the download has a Content-Length
and browsers show progress. It switches to ZIP64 on its own where sizes or
offsets pass 4 GiB.

Its writer is a plain generator that pulls each member's bytes from a plain
iterator; ours come from storage's async iterators. Rather than a thread per
download (which could pin every executor thread waiting for reads that need
one), the event loop hands the writer one chunk at a time: before each step
of the writer, the chunk (or the end) of the member it is writing lies ready
in a ``_Slot``. The writer takes at most one item per step, and a step that
found the slot empty is a broken promise, raised at once rather than written.
"""

from __future__ import annotations

from typing import AsyncIterator, Optional, Sequence

import zipstream

from ..base import OpenedReads, RangeReads
from .members import Member

_END = object()


class ArchiveBroken(Exception):
    """The archive cannot be finished as promised (a member's bytes went
    missing or changed size mid-download): the response must be cut off."""


class _Slot:
    """The one chunk handed from the event loop to the writer."""

    def __init__(self) -> None:
        self.item = None

    def take(self):
        item, self.item = self.item, None
        if item is None:
            raise ArchiveBroken("the zip writer asked for bytes that were not read yet")
        return item


class _Feed:
    """Every member's bytes, as the writer reads them: whatever the slot holds,
    up to the end of the member. One object serves every member (the writer
    iterates it again for each), so a member costs no generator of its own."""

    def __init__(self, slot: _Slot):
        self._slot = slot

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        item = self._slot.take()
        if item is _END:
            raise StopIteration
        return item


class ZipArchive:
    """A zip of ``members`` (and empty ``folders``), stored, its length known
    in advance."""

    def __init__(self, members: list[Member], folders: Sequence[str] = ()):
        """``folders`` ("a/b/") are written first, as entries of their own:
        they take no bytes from the slot."""
        self.members = members
        self._slot = _Slot()
        self._stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
        for folder in folders:
            self._stream.mkdir(folder)
        feed = _Feed(self._slot)
        for member in members:
            self._stream.add(feed, member.name, size=member.size)

    def __len__(self) -> int:
        """The archive's length in bytes."""
        return len(self._stream)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The archive's bytes; ArchiveBroken (or the storage's error) when a
        member cannot be read as it was sized."""
        writer = iter(self._stream)
        pending = iter(self.members)
        reading: Optional[AsyncIterator[bytes]] = None
        member: Optional[Member] = None
        sent = 0
        try:
            while True:
                if self._slot.item is None:
                    if reading is None:
                        member = next(pending, None)
                        if member is not None:
                            reading, sent = await _read(member), 0
                    if reading is not None:
                        chunk = await anext(reading, _END)
                        if chunk is _END:
                            if sent != member.size:
                                raise ArchiveBroken(f"{member.file_id} ended after {sent} "
                                                    f"of its {member.size} bytes")
                            reading = None
                        else:
                            sent += len(chunk)
                        self._slot.item = chunk
                try:
                    piece = next(writer)
                except StopIteration:
                    return
                if piece:
                    yield piece
        finally:
            if reading is not None:
                await reading.aclose()


async def _read(member: Member) -> AsyncIterator[bytes]:
    """The member's bytes, exactly ``member.size`` of them, or ArchiveBroken."""
    storage = member.source.storage
    if isinstance(storage, OpenedReads):
        opened = await storage.open_file(member.path)
        if opened.size != member.size:
            await opened.close()
            raise ArchiveBroken(f"{member.file_id} is now {opened.size} bytes, "
                                f"not {member.size}")
        return _upto(opened.stream_range(0, None), member)
    if isinstance(storage, RangeReads):
        return _upto(storage.stream_range(member.path, 0, None), member)
    return _upto(storage.stream_file(member.path), member)


async def _upto(stream: AsyncIterator[bytes], member: Member) -> AsyncIterator[bytes]:
    """``stream``, refused as soon as it holds more than ``member.size`` bytes."""
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > member.size:
                raise ArchiveBroken(f"{member.file_id} grew past {member.size} bytes")
            yield chunk
    except FileNotFoundError as ex:  # FileMissing, or a storage's own
        raise ArchiveBroken(f"the bytes of {member.file_id} went missing: {ex}") from ex
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
