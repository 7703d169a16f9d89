"""An uploaded image's size as displayed, from the start of its bytes."""

from __future__ import annotations

import asyncio
import io
from typing import Optional

from PIL import Image

from ..sources import Source

# Enough of an image's head for Pillow to read its dimensions (JPEG EXIF can be long).
IMAGE_HEAD_BYTES = 512 * 1024
# EXIF orientations 5-8 rotate by 90 degrees.
EXIF_ORIENTATION = 0x0112
ROTATED_ORIENTATIONS = (5, 6, 7, 8)

Dimensions = tuple[Optional[int], Optional[int]]


async def stored_image_size(source: Source, path: str, content_type: str) -> Dimensions:
    """Width and height of a stored image, EXIF rotation applied, from its
    head only; (None, None) for other files or unreadable images."""
    if not content_type.startswith("image/"):
        return None, None
    try:
        head = await source.storage.read_bytes(path, IMAGE_HEAD_BYTES)
    except Exception:
        return None, None
    return await image_size(head, content_type)


async def image_size(data: bytes, content_type: str) -> Dimensions:
    """stored_image_size for bytes in memory."""
    if not content_type.startswith("image/"):
        return None, None
    try:
        return await asyncio.to_thread(_size_from_head, data[:IMAGE_HEAD_BYTES])
    except Exception:
        return None, None


def _size_from_head(head: bytes) -> Dimensions:
    with Image.open(io.BytesIO(head)) as image:
        width, height = image.size
        if image.getexif().get(EXIF_ORIENTATION) in ROTATED_ORIENTATIONS:
            width, height = height, width
    return width, height
