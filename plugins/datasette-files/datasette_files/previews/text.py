"""Text, JSON, Markdown and CSV previews: from a file's first 256 KiB, rendered
away from the event loop, and kept in a small cache.

Plain text is only decoded (a thread is enough). The other kinds are rendered
in the limited worker process: a crafted 256 KiB of Markdown takes seconds of
CPU (see render.py). A render that overruns its time, or that finds every slot
busy for too long, falls back to the escaped text, with a note saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import Callable, Optional

from markupsafe import Markup

from ..downloads import read_as_registered
from ..kinds import extension_of
from ..registry import FileRow, Registry
from ..sources import Source
from ..thumbnails.worker import ThumbnailFailed, WorkerSlots, WorkerStopped, run_isolated
from .render import render_text_preview

log = logging.getLogger("datasette_files")

PREVIEW_BYTES = 256 * 1024
PAGE_BUILDS = 4
# One render's wall-clock limit. A long (256 KiB) Markdown file takes one or two
# seconds, more on a busy machine; a crafted one, tens of seconds.
RENDER_SECONDS = 8
# How long a page waits for a render slot before showing the plain text.
SLOT_WAIT_SECONDS = 2
CACHE_BYTES = 16 * 1024 * 1024
MAX_CACHED_BYTES = 4 * 1024 * 1024
# Part of the cache key: a change to what is rendered bumps it.
RENDER_VERSION = 1


class PreviewCache:
    """Rendered previews by key, least recently used dropped first, bounded by
    the characters of their strings."""

    def __init__(self, max_bytes: int = CACHE_BYTES, max_entry_bytes: int = MAX_CACHED_BYTES):
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[tuple, tuple[dict, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> Optional[dict]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple, preview: dict) -> None:
        size = sum(len(value) for value in preview.values() if isinstance(value, str))
        if size > self.max_entry_bytes or key in self._entries:
            return
        self._entries[key] = (preview, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped


class TextPreviews:
    """Builds the previews of one Datasette instance: one render per file at a
    time, in the shared workers, cached by the bytes they are made of."""

    def __init__(self, slots: Optional[WorkerSlots] = None) -> None:
        self.cache = PreviewCache()
        # A page showing a preview holds a MiB or two while it is built (the
        # sample, its text, the page): built a few at a time, a flood of them
        # waits instead of growing the server's memory (300 at once took it
        # from 74 to 334 MB).
        self.page_builds = asyncio.Semaphore(PAGE_BUILDS)
        # The workers thumbnails and PDF pages run in: renders take their turn.
        self._slots = slots or WorkerSlots()
        self._renders: dict[tuple, asyncio.Task] = {}

    async def preview(self, kind: str, file: FileRow, source: Source, registry: Registry,
                      on_changed: Callable[[], None], timeout: float = RENDER_SECONDS) -> dict:
        """What ``kind``'s template shows of ``file``, rendered within ``timeout``
        seconds (at most RENDER_SECONDS). Bytes changed on disk since they were
        registered are registered anew (``on_changed`` hears of it) and shown,
        never cached under the old bytes' hash nor answered from it."""
        timeout = min(timeout, RENDER_SECONDS)
        try:
            file, sample = await read_as_registered(registry, file, source,
                                                    PREVIEW_BYTES + 1, on_changed)
        except Exception as ex:  # gone from storage, or the storage failed
            log.warning("datasette-files: preview of %s not read: %r", file.id, ex)
            return {"unreadable": True}
        cut = len(sample) > PREVIEW_BYTES
        sample = sample[:PREVIEW_BYTES]
        if kind == "text":  # cheap: decoded each time
            preview, _ = await self._render(kind, sample, file.filename, cut, timeout)
            return _shown(preview, sample, cut)
        # Kept by what it is made of: the bytes read (the registry's hash may
        # describe older ones, rewritten keeping their size and mtime), and the
        # name's extension (a .tsv's delimiter, when the sniffer cannot tell).
        key = (hashlib.sha256(sample).digest(), cut, kind, extension_of(file.filename),
               RENDER_VERSION)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        return await self._shared_render(key, kind, sample, file.filename, cut, timeout)

    async def _shared_render(self, key: tuple, kind: str, sample: bytes, filename: str,
                             cut: bool, timeout: float) -> dict:
        # Pages asking for the same file at once wait for the same render; a
        # page that goes away does not cancel it for the others.
        task = self._renders.get(key)
        if task is None:
            task = asyncio.ensure_future(self._render_and_cache(key, kind, sample, filename, cut,
                                                              timeout))
            self._renders[key] = task
            task.add_done_callback(lambda _: self._renders.pop(key, None))
        return await asyncio.shield(task)

    async def _render_and_cache(self, key: tuple, kind: str, sample: bytes, filename: str,
                                cut: bool, timeout: float) -> dict:
        preview, lasting = await self._render(kind, sample, filename, cut, timeout)
        preview = _shown(preview, sample, cut)
        if lasting:
            self.cache.put(key, preview)
        return preview

    async def _render(self, kind: str, sample: bytes, filename: str, cut: bool,
                      timeout: float) -> tuple[dict, bool]:
        """(the preview, whether it lasts: False for a fallback caused by load)."""
        if kind == "text":
            return await asyncio.to_thread(render_text_preview, kind, sample, filename, cut), True
        try:
            async with self._slots.worker(wait=SLOT_WAIT_SECONDS):
                preview = await run_isolated(render_text_preview, kind, sample, filename, cut,
                                             timeout=timeout)
            return preview, True
        except asyncio.TimeoutError:
            return await _as_text(sample, filename, cut, "The server is busy, so it is "
                                  "shown as plain text: reload the page to see it rendered."), False
        except ThumbnailFailed as ex:
            reason = ("It took too long to render, so it is shown as plain text."
                      if "longer than" in str(ex) else
                      "It could not be rendered, so it is shown as plain text.")
            return await _as_text(sample, filename, cut, reason), True
        except WorkerStopped:
            return await _as_text(sample, filename, cut, "It could not be rendered now, so "
                                  "it is shown as plain text."), False


async def _as_text(sample: bytes, filename: str, cut: bool, reason: str) -> dict:
    preview = await asyncio.to_thread(render_text_preview, "text", sample, filename, cut)
    return {**preview, "reason": reason}


def _shown(preview: dict, sample: bytes, cut: bool) -> dict:
    """The preview with how much of the file it is made from."""
    return {**preview, "shown_bytes": len(sample), "cut": cut}


def for_template(preview: dict) -> dict:
    """The preview as a template sees it: its ``html`` (our renderer's,
    escaped there) marked safe."""
    if preview.get("html") is not None:
        return {**preview, "html": Markup(preview["html"])}
    return preview
