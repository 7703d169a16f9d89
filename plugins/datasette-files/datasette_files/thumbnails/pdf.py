"""PDF pages as images, with PDFium (pypdfium2): the built-in PDF thumbnail
generator, and the functions the file page's viewer runs in the limited worker.

Every function here parses the file's bytes, so each runs in the worker
(``worker.run_isolated``), never in the server. PDFium is used without a form
environment: a document's JavaScript (an OpenAction, a form's scripts) is
never run, and form fields are not drawn.

A page is drawn to fit a box of pixels whatever its MediaBox says: a page
bomb (a page 200 inches wide) gives a bitmap no larger than any other page.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Optional

from ..base import ThumbnailGenerator, ThumbnailResult

PDF_TYPES = ("application/pdf", "application/x-pdf")
# The viewer's page images fit this box (CSS pixels x2 for sharp text on a
# 600 px wide column); a thumbnail fits the size asked for.
PAGE_BOX = (1200, 1600)
JPEG_QUALITY = 80
# PDFium's sizes are in points; a page smaller than this is no page to draw.
MIN_POINTS = 1.0
# Pixels per point at most (216 dpi): a business card is not drawn poster-sized.
MAX_SCALE = 3.0


@dataclass
class RenderedPage:
    """One page drawn as an image, and how many pages its document has."""

    image: bytes
    content_type: str
    width: int
    height: int
    page_count: int


@dataclass
class PdfOutline:
    """What the viewer needs before any page is drawn: the page count and the
    first pages' sizes in points (width, height), rotation applied."""

    page_count: int
    page_sizes: list[tuple[float, float]]


class PdfThumbnailGenerator(ThumbnailGenerator):
    """The first page of a PDF."""

    name = "pdf"
    version = "1"

    async def can_generate(self, content_type: str, filename: str) -> bool:
        return is_pdf(content_type, filename)

    async def generate(
        self, file_bytes, content_type, filename, max_width=200, max_height=200
    ) -> Optional[ThumbnailResult]:
        page = render_page(file_bytes, 1, max_width, max_height)
        return ThumbnailResult(thumb_bytes=page.image, content_type=page.content_type,
                               width=page.width, height=page.height)


def fitted_scale(width: float, height: float, max_width: int, max_height: int) -> float:
    """Pixels per point for a page of ``width`` x ``height`` points to fit the
    box; at most MAX_SCALE, so a tiny page is not blown up."""
    return min(max_width / width, max_height / height, MAX_SCALE)


def fitted_size(width: float, height: float, max_width: int, max_height: int
                ) -> tuple[int, int]:
    """The pixel size of that page's image (rounded up, as pypdfium2 does); the
    whole box for a page of no finite size (which render_page refuses to draw)."""
    if not (math.isfinite(width) and math.isfinite(height)):
        return max_width, max_height
    scale = fitted_scale(max(width, MIN_POINTS), max(height, MIN_POINTS), max_width,
                         max_height)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def is_pdf(content_type: Optional[str], filename: Optional[str]) -> bool:
    """Whether a file is handled as a PDF: by its type, or its name."""
    return (content_type or "").split(";")[0].strip().lower() in PDF_TYPES or (
        filename or "").lower().endswith(".pdf")


def read_outline(file_bytes: bytes, max_pages: int) -> PdfOutline:
    """The page count, and the sizes of the first ``max_pages`` pages."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(file_bytes)
    try:
        count = len(document)
        # Read from the page tree: loading a page would parse its content.
        sizes = [tuple(round(side, 2) for side in document.get_page_size(index))
                 for index in range(min(count, max_pages))]  # rotation applied
        return PdfOutline(page_count=count, page_sizes=sizes)
    finally:
        document.close()


def render_page(file_bytes: bytes, number: int, max_width: int = PAGE_BOX[0],
                max_height: int = PAGE_BOX[1]) -> RenderedPage:
    """Page ``number`` (from 1) as a JPEG fitting ``max_width`` x ``max_height``."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(file_bytes)
    try:
        count = len(document)
        if not 1 <= number <= count:
            raise ValueError(f"page {number} is not in this document of {count} pages")
        page = document[number - 1]
        try:
            width, height = page.get_size()  # rotation applied
            if not (math.isfinite(width) and math.isfinite(height)):
                raise ValueError(f"page {number} is {width:g} x {height:g} points: too large")
            if width < MIN_POINTS or height < MIN_POINTS:
                raise ValueError(f"page {number} is {width:g} x {height:g} points: too small")
            scale = fitted_scale(width, height, max_width, max_height)
            bitmap = page.render(scale=scale, may_draw_forms=False, limit_image_cache=True)
            image = bitmap.to_pil()
        finally:
            page.close()
    finally:
        document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return RenderedPage(image=out.getvalue(), content_type="image/jpeg", width=image.width,
                        height=image.height, page_count=count)
