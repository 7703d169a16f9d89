"""An uploaded image's size as displayed, from the start of its bytes."""

from __future__ import annotations

import asyncio
from typing import Optional

from ..sources import Source
from ..thumbnails.image_header import displayed_size

# Enough of an image's head for its dimensions (JPEG EXIF can be long).
IMAGE_HEAD_BYTES = 512 * 1024

Dimensions = tuple[Optional[int], Optional[int]]


async def stored_image_size(source: Source, path: str, content_type: str) -> Dimensions:
    """Width and height of a stored image, EXIF rotation applied, from its
    head only; (None, None) for other files, unreadable images and images
    over the pixel cap."""
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
    # Off the event loop: a made-up header can take many small steps to walk.
    return await asyncio.to_thread(displayed_size, data[:IMAGE_HEAD_BYTES])
