"""Audio and video: the page's native players, fed by the ``-/media`` route."""

from __future__ import annotations

from ..registry import FileRow
from ..sources import Source
from ..previews.choice import media_type


async def media_preview(datasette, request, file: FileRow, source: Source) -> dict:
    """The player's source: the inline media route (byte ranges let it seek)."""
    return {"media_url": datasette.urls.path(f"/-/files/{file.id}/-/media"),
            "media_type": media_type(file.content_type)}
