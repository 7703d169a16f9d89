"""Raster images: the picture sized to its column, and the lightbox over the
images beside it in its folder."""

from __future__ import annotations

from ..registry import FileRow
from ..sources import Source
from ..state import state
from ..previews.choice import INLINE_IMAGE_TYPES

# The lightbox steps through this many images on each side of the file, found
# among this many files on each side (one index walk each, whatever the folder).
NEIGHBOURS = 50
NEIGHBOUR_SPAN = 1000
THUMBNAIL_WIDTH = 400


def image_url(datasette, file: FileRow) -> str:
    """The full-size image (the inline ``-/image`` route)."""
    return datasette.urls.path(f"/-/files/{file.id}/-/image")


def lightbox_item(datasette, file: FileRow) -> dict:
    return {"src": image_url(datasette, file), "name": file.filename,
            "url": datasette.urls.path(f"/-/files/{file.id}")}


async def image_preview(datasette, request, file: FileRow, source: Source) -> dict:
    """The full-size URL; the 400 px thumbnail as a smaller choice (``srcset``)
    when one can be drawn and the image is wider; the images before and after
    it in the folder's default order (newest first, as its page lists them)."""
    plugin = state(datasette)
    newer, older = await plugin.registry.files.beside_in_folder(
        file, INLINE_IMAGE_TYPES, NEIGHBOURS, NEIGHBOUR_SPAN)
    thumbnail = None
    if (file.width or 0) > THUMBNAIL_WIDTH and await plugin.thumbnails.applicable(file):
        thumbnail = datasette.urls.path(f"/-/files/{file.id}/thumbnail") + "?size=400" + (
            f"&v={version}" if (version := plugin.thumbnails.version(file)) else "")
    return {
        "image_url": image_url(datasette, file),
        "thumbnail_400": thumbnail,
        # In the page's order: the newer ones first, the nearest last.
        "before": [lightbox_item(datasette, row) for row in reversed(newer)],
        "after": [lightbox_item(datasette, row) for row in older],
    }
