"""The built-in generator for raster images, with Pillow."""

from __future__ import annotations

import io
from typing import Optional

from ..base import ThumbnailGenerator, ThumbnailResult
from .image_header import EXIF_ORIENTATION, MAX_PIXELS, TURNED_ORIENTATIONS

PILLOW_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp",
    "image/tiff",
}
PILLOW_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
# The most memory an image's decoded pixels may take in the worker, so that the
# worker (~40 MiB of its own) and the server fit a 256 MB machine together, as
# the worker's 768 MiB address-space limit alone would not: 16 million pixels
# of colour, 50 million (MAX_PIXELS) of grey. JPEG decodes scaled down (draft),
# so a camera's JPEG of any size fits.
MAX_DECODED_BYTES = 64 * 1024 * 1024
# Pillow keeps these modes in one byte a pixel; the others in four.
ONE_BYTE_MODES = ("1", "L", "P")


class PillowThumbnailGenerator(ThumbnailGenerator):
    """JPEG, PNG, GIF, WebP, BMP and TIFF; EXIF orientation applied."""

    name = "pillow"

    async def can_generate(self, content_type: str, filename: str) -> bool:
        return (content_type or "").lower() in PILLOW_TYPES or (
            filename or ""
        ).lower().endswith(PILLOW_EXTENSIONS)

    async def generate(
        self, file_bytes, content_type, filename, max_width=200, max_height=200
    ) -> Optional[ThumbnailResult]:
        return render(file_bytes, max_width, max_height)


def render(file_bytes: bytes, max_width: int, max_height: int) -> Optional[ThumbnailResult]:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(io.BytesIO(file_bytes)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"{image.width}x{image.height} pixels is too many to decode")
        # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: far less memory.
        image.draft("RGB", (max_width * 2, max_height * 2))
        pixel_bytes = 1 if image.mode in ONE_BYTE_MODES else 4
        if image.width * image.height * pixel_bytes > MAX_DECODED_BYTES:
            raise ValueError(f"{image.width}x{image.height} {image.mode} is too large to decode")
        image.load()  # (a TIFF is turned as it loads, and loses its orientation)
        # Turned after shrinking, as a turn copies the image: so the box turns first.
        box = (max_width, max_height)
        if image.getexif().get(EXIF_ORIENTATION) in TURNED_ORIENTATIONS:
            box = (max_height, max_width)
        image.thumbnail(box)
        image = ImageOps.exif_transpose(image)
        has_alpha = image.mode in ("RGBA", "LA", "P")
        image = image.convert("RGBA" if has_alpha else "RGB")
        out = io.BytesIO()
        if has_alpha:
            image.save(out, "PNG", optimize=True)
            content_type = "image/png"
        else:
            image.save(out, "JPEG", quality=82)
            content_type = "image/jpeg"
        return ThumbnailResult(
            thumb_bytes=out.getvalue(), content_type=content_type,
            width=image.width, height=image.height,
        )
