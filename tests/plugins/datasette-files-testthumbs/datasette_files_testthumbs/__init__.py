import io
import time

from datasette import hookimpl
from datasette_files.base import ThumbnailGenerator, ThumbnailResult


class TextPreview(ThumbnailGenerator):
    """A non-image type: draws the first line of a text file."""

    name = "text-preview"

    async def can_generate(self, content_type, filename):
        return content_type == "text/x-preview"

    async def generate(self, file_bytes, content_type, filename, max_width=200, max_height=200):
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (max_width, max_height // 2), "white")
        ImageDraw.Draw(image).text((4, 4), file_bytes.decode()[:30], fill="black")
        out = io.BytesIO()
        image.save(out, "PNG")
        return ThumbnailResult(out.getvalue(), "image/png", image.width, image.height)


class Hostile(ThumbnailGenerator):
    """Spins forever, or eats memory, depending on the content type."""

    name = "hostile"

    async def can_generate(self, content_type, filename):
        return content_type in ("application/x-spin", "application/x-hog")

    async def generate(self, file_bytes, content_type, filename, max_width=200, max_height=200):
        if content_type == "application/x-hog":
            hoard = []
            while True:
                hoard.append(bytearray(200 * 1024 * 1024))
        while True:
            time.sleep(0.01)


class StampedPdf(ThumbnailGenerator):
    """A plugin's generator for some PDFs: tried before the built-in one, it
    draws "*.stamped.pdf" as a 30 x 10 PNG and declines "*.declined.pdf"."""

    name = "stamped-pdf"

    async def can_generate(self, content_type, filename):
        return filename.endswith((".stamped.pdf", ".declined.pdf"))

    async def generate(self, file_bytes, content_type, filename, max_width=200, max_height=200):
        from PIL import Image

        if filename.endswith(".declined.pdf"):
            return None
        out = io.BytesIO()
        Image.new("RGB", (30, 10), "green").save(out, "PNG")
        return ThumbnailResult(out.getvalue(), "image/png", 30, 10)


@hookimpl
def register_thumbnail_generators(datasette):
    return [TextPreview(), Hostile(), StampedPdf()]


@hookimpl
async def file_actions(datasette, actor, file, preview_bytes):
    """An awaitable hook implementation that sniffs the preview bytes."""
    if preview_bytes.startswith(b"%PDF"):
        return [{"href": f"/-/convert/{file['id']}", "label": "Convert PDF",
                 "description": f"saw {len(preview_bytes)} bytes of {file['source_id']}"}]
    return []
