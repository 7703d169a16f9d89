"""GET/HEAD of a file's bytes to show in the page: ``-/media`` (audio and
video, for the players) and ``-/image`` (raster images, for the full-size view
and the lightbox).

Only the registered content type admits a file (previews/choice.py): HTML,
SVG, PDF, text, or bytes merely *named* like an image are refused with a 404,
as a file one may not see is. What is served keeps the download's
``nosniff`` and sandboxing CSP, its validators and its byte ranges (players
seek with them); only the disposition is ``inline``.
"""

from __future__ import annotations

from typing import Callable

from ..errors import NotFound
from ..previews.choice import is_inline_image, is_media, media_type
from ..registry import FileRow
from .common import file_for, json_api, require_method
from .files import bytes_response


async def _inline(datasette, request, admits: Callable[[FileRow], bool], what: str):
    require_method(request, "GET", "HEAD")
    # The download's permission first: a file one may not see is the download's 404.
    file, source = await file_for(datasette, request, request.url_vars["file_id"])
    if not admits(file):
        raise NotFound(
            f"{file.id} is not served inline here: its type "
            f"{media_type(file.content_type) or 'unknown'!r} is not {what} "
            "(its download_url serves it as an attachment)")
    return await bytes_response(datasette, request, file, source, "inline")


@json_api
async def media_view(datasette, request):
    """``/-/files/{id}/-/media``: a file registered as ``audio/*`` or ``video/*``."""
    return await _inline(datasette, request, is_media, "audio or video")


@json_api
async def image_view(datasette, request):
    """``/-/files/{id}/-/image``: a raster image (JPEG, PNG, GIF, WebP, AVIF, BMP)."""
    return await _inline(datasette, request, is_inline_image, "a raster image")
