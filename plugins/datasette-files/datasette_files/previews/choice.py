"""Which viewer a file's page shows: decided once, from the registered type and name.

Only the registered content type decides what may be served inline (raster
images, audio, video): a name alone never makes bytes inline. Text previews
are escaped on the server, so the name may choose them.
"""

from __future__ import annotations

from typing import Optional

from ..csv_import.detect import is_csv
from ..kinds import extension_of, kind_of
from ..registry import FileRow
from ..thumbnails.pdf import is_pdf

# Raster types every current browser draws; never SVG (it can carry script) nor
# types a browser would hand to a plug-in or download.
INLINE_IMAGE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp",
})
MARKDOWN_EXTENSIONS = ("md", "markdown")
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")
JSON_TYPES = ("application/json",)
PREVIEW_KINDS = ("image", "pdf", "audio", "video", "csv", "markdown", "json", "text")


def media_type(content_type: Optional[str]) -> str:
    """The content type without parameters, lowercased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_inline_image(file: FileRow) -> bool:
    return media_type(file.content_type) in INLINE_IMAGE_TYPES


def is_media(file: FileRow) -> bool:
    return media_type(file.content_type).startswith(("audio/", "video/"))


def preview_kind(file: FileRow) -> Optional[str]:
    """One of PREVIEW_KINDS, or None for a file shown by its thumbnail alone."""
    content_type = media_type(file.content_type)
    extension = extension_of(file.filename)
    if content_type in INLINE_IMAGE_TYPES:
        return "image"
    if content_type.startswith("audio/"):
        return "audio"
    if content_type.startswith("video/"):
        return "video"
    if is_pdf(content_type, file.filename):  # as the PDF thumbnails and pages decide it
        return "pdf"
    if is_csv(content_type, file.filename):
        return "csv"
    if content_type in MARKDOWN_TYPES or extension in MARKDOWN_EXTENSIONS:
        return "markdown"
    if content_type in JSON_TYPES or extension == "json":
        return "json"
    if content_type == "image/svg+xml" or extension == "svg":
        return "text"  # its source, escaped: never drawn (it can carry script)
    if kind_of(content_type, file.filename) == "text":
        return "text"
    return None
