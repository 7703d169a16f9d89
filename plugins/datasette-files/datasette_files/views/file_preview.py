"""What a file's page shows of its content: the viewer for its kind of file."""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Awaitable, Callable, Optional

from ..previews.choice import preview_kind
from ..registry import FileRow
from ..sources import Source
from ..state import state
from .image_preview import image_preview
from .media_preview import media_preview
from .pdf_pages import pdf_preview
from .text_preview import TEXT_BUILDERS, TEXT_KINDS

# Each kind's context builder: (datasette, request, file, source) -> dict for
# its template, _files_preview_{kind}.html. A kind without one gets {}.
Builder = Callable[..., Awaitable[dict]]
BUILDERS: dict[str, Builder] = {
    "audio": media_preview,
    "video": media_preview,
    "image": image_preview,
    "pdf": pdf_preview,
    **TEXT_BUILDERS,
}


async def preview_context(datasette, request, file: FileRow, source: Source) -> dict:
    """``{"kind": ...}`` and what that kind's template needs; kind None when the
    file is shown by its thumbnail alone."""
    kind: Optional[str] = preview_kind(file)
    builder = BUILDERS.get(kind) if kind else None
    return {"kind": kind, **(await builder(datasette, request, file, source) if builder else {})}


def page_build(datasette, file: FileRow) -> AbstractAsyncContextManager:
    """What building the page of ``file`` holds: a place among the few pages
    with a text preview built at once (TextPreviews.page_builds); nothing for
    other files."""
    if preview_kind(file) in TEXT_KINDS:
        return state(datasette).text_previews.page_builds
    return contextlib.nullcontext()
