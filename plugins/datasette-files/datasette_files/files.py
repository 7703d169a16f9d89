"""``File``, the Python API other plugins use, and the JSON file object."""

from __future__ import annotations

import contextlib
import datetime
from typing import AsyncIterator, Optional

from .sources import Source

FILE_ID_PATTERN = r"df-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}"


class File:
    """A registered file. Permission checks are the caller's responsibility."""

    def __init__(self, row: dict, source: Source):
        self._row = row
        self._source = source
        self.id: str = row["id"]
        self.filename: str = row["filename"]
        self.content_type: str = row["content_type"]
        self.size: int = row["size"]
        self.source_slug: str = row["source_slug"]
        self.uploaded_by: Optional[str] = row["uploaded_by"]
        self.created_at: datetime.datetime = parse_timestamp(row["created_at"])
        self.metadata: dict = row["metadata"]
        self.content_hash: Optional[str] = row["content_hash"]
        self.path: str = row["path"]

    def __repr__(self) -> str:
        return f"<File {self.id} {self.filename!r} in {self.source_slug}>"

    async def read(self, max_bytes: Optional[int] = None) -> bytes:
        """The file's content, or at most its first ``max_bytes`` bytes."""
        if max_bytes is not None:
            return await self._source.storage.read_bytes(self.path, max_bytes)
        return await self._source.storage.read_file(self.path)

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[AsyncIterator[bytes]]:
        """``async with file.open() as stream: async for chunk in stream: ...``"""
        stream = self._source.storage.stream_file(self.path)
        try:
            yield stream
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


async def get_file(datasette, file_id: str) -> Optional[File]:
    """The file with this id, or None if no such file is registered."""
    from .plugin_state import state

    plugin = state(datasette)
    row = await plugin.registry.get(file_id)
    if row is None or row["source_slug"] not in plugin.sources:
        return None
    return File(row, plugin.sources.get(row["source_slug"]))


def file_json(datasette, row: dict) -> dict:
    """The file object every endpoint answers with (the shape of ``complete``'s)."""
    base = datasette.urls.path(f"/-/files/{row['id']}")
    return {
        "id": row["id"],
        "filename": row["filename"],
        "content_type": row["content_type"],
        "content_hash": row["content_hash"],
        "size": row["size"],
        "width": row["width"],
        "height": row["height"],
        "source_slug": row["source_slug"],
        "uploaded_by": row["uploaded_by"],
        "created_at": row["created_at"],
        "search_text": row["search_text"],
        "folder": row["folder"],
        "metadata": row["metadata"],
        "url": base,
        "download_url": f"{base}/download",
        "thumbnail_url": f"{base}/thumbnail",
    }


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def parse_timestamp(value: str) -> datetime.datetime:
    return datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc
    )
