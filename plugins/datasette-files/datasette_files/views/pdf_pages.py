"""The PDF viewer: the file page's context for a PDF, and GET/HEAD
``/-/files/{file_id}/-/pdf-page/{n}``, one page drawn as a JPEG.

The PDF's own bytes are never served here (its download stays an attachment):
only images the limited worker drew. Whoever may not download the file gets
the download route's answer (404).
"""

from __future__ import annotations

import re

from datasette import Response

from ..errors import ApiError, NotFound
from ..previews.pdf import PdfPages, PdfUnreadable, page_sizes_in_pixels
from ..registry import FileRow
from ..sources import Source
from ..state import state
from ..thumbnails.worker import WorkerBusy
from .cache_control import keep_cache_control
from .common import error_response, file_for, json_api, require_method
from .files import IMMUTABLE

# Whole numbers from 1, as text: int() would take "+1", " 1" and "1_0".
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def page_url(datasette, file: FileRow, number: int, version: str) -> str:
    return datasette.urls.path(f"/-/files/{file.id}/-/pdf-page/{number}?v={version}")


async def pdf_preview(datasette, request, file: FileRow, source: Source) -> dict:
    """The viewer's context: each viewable page's URL and size, the page
    count, or why there are no pages to show (``error``, ``busy``)."""
    pages: PdfPages = state(datasette).pdf_pages
    try:
        file = await pages.current(file)
        outline = await pages.outline(file)
    except PdfUnreadable as ex:
        return {"error": str(ex), "pages": []}
    except WorkerBusy:
        return {"busy": True, "pages": []}
    except FileNotFoundError:  # FileMissing, or a storage's own
        return {"error": "The file's bytes are missing from storage", "pages": []}
    shown = pages.viewable(outline)
    version = pages.version(file)
    sizes = page_sizes_in_pixels(outline, shown)
    return {
        "page_count": outline.page_count,
        "shown": shown,
        "pages": [{"number": number, "src": page_url(datasette, file, number, version),
                   "width": width, "height": height}
                  for number, (width, height) in enumerate(sizes, 1)],
    }


@json_api
async def pdf_page_view(datasette, request):
    """One page of a PDF as a JPEG; with its current version (``v``) it may be
    cached for good. 400 for a page that is no page number, 404 past the
    document's pages or the viewer's cap, 422 for a PDF the worker could not
    read, 503 (Retry-After) when the renders' queue is full."""
    require_method(request, "GET", "HEAD")
    file, _ = await file_for(datasette, request, request.url_vars["file_id"])
    text = request.url_vars["page"]
    if not PAGE_NUMBER.fullmatch(text):
        raise ApiError(f"Page must be a whole number from 1, not {text[:40]!r}")
    number = int(text)
    pages: PdfPages = state(datasette).pdf_pages
    try:
        return await _page_response(request, pages, file, number)
    except WorkerBusy as ex:
        response = error_response(ex)
        response.headers["Retry-After"] = str(ex.details.get("retry_after", 2))
        return response


async def _page_response(request, pages: PdfPages, file: FileRow, number: int) -> Response:
    file = await pages.current(file)
    outline = await pages.outline(file)
    if number > outline.page_count:
        raise NotFound(f"This PDF has {outline.page_count:,} pages: there is no page {number}")
    if number > pages.viewable(outline):
        raise NotFound(f"Only the first {pages.max_pages} pages can be viewed: "
                       f"download the file to see page {number}")
    version = pages.version(file)
    headers = {**IMAGE_HEADERS, "ETag": f'"{version}-p{number}"'}
    cache_control = IMMUTABLE if request.args.get("v") == version else "private, no-cache"
    if request.headers.get("if-none-match") == headers["ETag"]:
        return keep_cache_control(Response("", status=304, headers=headers), cache_control)
    page = await pages.page(file, number)
    response = Response(page.image, content_type=page.content_type, headers=headers)
    return keep_cache_control(response, cache_control)
