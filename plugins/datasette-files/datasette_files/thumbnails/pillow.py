"""The built-in generator for raster images, with Pillow."""

from __future__ import annotations

import io
from typing import Optional

from ..base import ThumbnailGenerator, ThumbnailResult
from .image_header import MAX_PIXELS

PILLOW_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp",
    "image/tiff",
}
PILLOW_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")


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
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_width, max_height))
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
