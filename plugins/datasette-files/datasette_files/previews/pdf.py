"""The PDF viewer's pages: each document's outline and page images, read and
drawn in the limited worker, kept in the registry's bounded cache.

Hostile bytes are never parsed in the server: the page count too is read by
the worker. Renders share the workers with thumbnails (``WorkerSlots``); a
render that would queue past its bound is refused at once (``WorkerBusy``,
503) rather than held in memory. One render of a page (or an outline) runs
at a time; requests for the same one wait for it and then read the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import AsyncIterator, Callable, Optional

from ..clock import now_timestamp
from ..downloads import read_as_registered
from ..errors import ApiError, NotFound
from ..registry import FileRow, Registry, StoredPdfOutline, StoredPdfPage
from ..sources import Sources
from ..thumbnails.pdf import (
    JPEG_QUALITY, PAGE_BOX, PdfOutline, RenderedPage, fitted_size, is_pdf, read_outline,
    render_page)
from ..thumbnails.worker import (
    RETRY_AFTER_SECONDS, WorkFailed, WorkerBusy, WorkerSlots, WorkerStopped, run_isolated)

log = logging.getLogger("datasette_files")

# Pages of a document the viewer shows; the rest are for the download.
MAX_VIEWABLE_PAGES = 50
# PDFs larger than this get no viewer (the thumbnails' bound too).
MAX_INPUT_BYTES = 50 * 1024 * 1024
# Names the page images: part of the cache key and of every page URL's version.
RENDERER = f"pdfium-1-{PAGE_BOX[0]}x{PAGE_BOX[1]}-q{JPEG_QUALITY}"


class PdfUnreadable(ApiError):
    """The worker could not read the document or draw the page (malformed,
    too large, over its limits)."""

    status = 422


class PdfPages:
    """Outlines and page images of PDFs, cached by content hash."""

    def __init__(self, registry: Registry, sources: Sources, slots: WorkerSlots,
                 timeout: float, max_pages: int = MAX_VIEWABLE_PAGES,
                 on_changed: Callable[[], None] = lambda: None):
        self.registry = registry
        # Told when a file's bytes were found changed since they were hashed.
        self.on_changed = on_changed
        self.sources = sources
        self.slots = slots
        self.timeout = timeout
        self.max_pages = max_pages
        self._locks: dict[tuple, asyncio.Lock] = {}

    async def current(self, file: FileRow) -> FileRow:
        """``file`` as its bytes are now: without a hash (so no pages yet, and
        none of the old bytes' pages) when they changed since they were hashed."""
        if not is_pdf(file.content_type, file.filename):
            return file  # refused as it is (outline, page)
        source = self.sources.get(file.source_slug)
        file, _ = await read_as_registered(self.registry, file, source, 0, self.on_changed)
        return file

    def version(self, file: FileRow) -> Optional[str]:
        """What a file's page images are made from: its bytes and the renderer.
        None until the file is hashed. A page URL carrying it may be cached for good."""
        if not file.content_hash:
            return None
        material = f"{file.content_hash}|{RENDERER}".encode()
        return hashlib.sha256(material).hexdigest()[:16]

    async def outline(self, file: FileRow) -> PdfOutline:
        """The document's page count and first pages' sizes. PdfUnreadable when
        the worker could not read it, WorkerBusy when the workers are full."""
        content_hash = self._require_pdf(file)
        stored = await self.registry.pdf_pages.outline(content_hash, RENDERER)
        if stored is None:
            async with self._rendering(("outline", content_hash)):
                # Whoever held the turn before may have read it meanwhile.
                stored = await self.registry.pdf_pages.outline(content_hash, RENDERER)
                if stored is None:
                    stored = await self._read_outline(file, content_hash)
        if stored.error is not None:
            raise PdfUnreadable(f"This PDF could not be read: {stored.error}")
        return PdfOutline(page_count=stored.page_count, page_sizes=stored.page_sizes)

    def viewable(self, outline: PdfOutline) -> int:
        """How many of the document's pages the viewer shows."""
        return min(outline.page_count, self.max_pages)

    async def page(self, file: FileRow, number: int) -> StoredPdfPage:
        """Page ``number`` (from 1, already within the outline) as an image."""
        content_hash = self._require_pdf(file)
        stored = await self.registry.pdf_pages.page(content_hash, RENDERER, number)
        if stored is None:
            async with self._rendering(("page", content_hash, number)):
                stored = await self.registry.pdf_pages.page(content_hash, RENDERER, number)
                if stored is None:
                    stored = await self._render(file, content_hash, number)
        if stored.error is not None:
            raise PdfUnreadable(f"Page {number} could not be drawn: {stored.error}")
        return stored

    def _require_pdf(self, file: FileRow) -> str:
        if not is_pdf(file.content_type, file.filename):
            raise NotFound(f"File {file.id} is not a PDF")
        if not file.content_hash:
            raise WorkerBusy(f"File {file.id} is still being read: try again shortly",
                             retry_after=RETRY_AFTER_SECONDS)
        return file.content_hash

    @contextlib.asynccontextmanager
    async def _rendering(self, key: tuple) -> AsyncIterator[None]:
        """A place in the workers' queue (WorkerBusy when none is left), then
        this key's turn."""
        async with self.slots.place():
            lock = self._locks.setdefault(key, asyncio.Lock())
            try:
                async with lock:
                    yield
            finally:
                if not lock.locked() and self._locks.get(key) is lock:
                    del self._locks[key]

    async def _read_outline(self, file: FileRow, content_hash: str) -> StoredPdfOutline:
        try:
            async with self.slots.worker():
                content = await self._read_input(file, content_hash)
                outline = await run_isolated(read_outline, content, self.max_pages,
                                             timeout=self.timeout)
        except WorkerStopped as ex:  # says nothing about the file: not recorded
            raise _stopped(ex) from None
        except WorkFailed as ex:
            stored = StoredPdfOutline(content_hash, RENDERER, now_timestamp(), error=str(ex))
        else:
            stored = StoredPdfOutline(content_hash, RENDERER, now_timestamp(),
                                      page_count=outline.page_count,
                                      page_sizes=outline.page_sizes)
        await self.registry.pdf_pages.store_outline(stored)
        return stored

    async def _render(self, file: FileRow, content_hash: str, number: int) -> StoredPdfPage:
        try:
            async with self.slots.worker():
                content = await self._read_input(file, content_hash)
                rendered: RenderedPage = await run_isolated(
                    render_page, content, number, timeout=self.timeout)
        except WorkerStopped as ex:
            raise _stopped(ex) from None
        except WorkFailed as ex:
            stored = StoredPdfPage(content_hash, RENDERER, number, now_timestamp(),
                                   error=str(ex))
        else:
            stored = StoredPdfPage(content_hash, RENDERER, number, now_timestamp(),
                                   content_type=rendered.content_type, image=rendered.image,
                                   width=rendered.width, height=rendered.height)
        await self.registry.pdf_pages.store_page(stored)
        return stored

    async def _read_input(self, file: FileRow, content_hash: str) -> bytes:
        """The file's bytes, if they are still those hashed as ``content_hash``
        (what is drawn is kept under it, and other files share it): WorkerBusy
        when they changed. WorkFailed past MAX_INPUT_BYTES (recorded: these
        bytes will never fit)."""
        if file.size is not None and file.size > MAX_INPUT_BYTES:
            raise WorkFailed(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        source = self.sources.get(file.source_slug)
        file, content = await read_as_registered(self.registry, file, source,
                                                 MAX_INPUT_BYTES + 1, self.on_changed)
        if file.content_hash != content_hash:
            raise WorkerBusy(f"File {file.id} changed and is being read again: "
                             "try again shortly", retry_after=RETRY_AFTER_SECONDS)
        if len(content) > MAX_INPUT_BYTES:
            raise WorkFailed(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        # Size and mtime miss a same-size rewrite that kept its mtime (cp -p,
        # rsync -t): the bytes drawn for every file with this hash are checked.
        if await asyncio.to_thread(_sha256, content) != content_hash:
            raise WorkerBusy(f"File {file.id} changed and is being read again: "
                             "try again shortly", retry_after=RETRY_AFTER_SECONDS)
        return content


def _sha256(content: bytes) -> str:
    """A content hash as the registry writes it."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _stopped(ex: WorkerStopped) -> WorkerBusy:
    log.warning("datasette-files: a PDF render was not made: %s", ex)
    return WorkerBusy("The renderer was stopped: try again shortly",
                      retry_after=RETRY_AFTER_SECONDS)


def page_sizes_in_pixels(outline: PdfOutline, count: int) -> list[tuple[int, int]]:
    """The pixel sizes the first ``count`` page images will have (for the
    viewer to reserve their room before they load)."""
    return [fitted_size(width, height, *PAGE_BOX) for width, height in outline.page_sizes[:count]]
