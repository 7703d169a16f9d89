"""The file object every endpoint answers with (the shape of ``complete``'s)."""

from __future__ import annotations

from ..registry import FileRow
from ..state import state


def file_json(datasette, file: FileRow) -> dict:
    base = datasette.urls.path(f"/-/files/{file.id}")
    return {
        "id": file.id,
        "filename": file.filename,
        "content_type": file.content_type,
        "content_hash": file.content_hash,
        # "hashed"; "pending" (null hash, not hashed yet); "failed" (null hash:
        # the bytes could not be read, they are tried again later).
        "content_hash_state": file.content_hash_state,
        "size": file.size,
        "width": file.width,
        "height": file.height,
        "source_slug": file.source_slug,
        "uploaded_by": file.uploaded_by,
        "created_at": file.created_at,
        "search_text": file.search_text,
        "folder": file.folder,
        "metadata": file.metadata,
        "url": base,
        # The published datasette-files' name for url in batch.json; clients read it.
        "info_url": base,
        "download_url": f"{base}/download",
        "thumbnail_url": f"{base}/thumbnail",
        # With ?v= this version, the thumbnail's URL may be cached for good: it
        # changes with the file's bytes (null until the file is hashed).
        "thumbnail_version": state(datasette).thumbnails.version(file),
    }


def versioned_thumbnail_url(datasette, file: FileRow, size: int | None = None) -> str:
    """The thumbnail's URL with its version (once the file is hashed), which
    browsers may keep for good, and the size asked for."""
    params = []
    version = state(datasette).thumbnails.version(file)
    if version:
        params.append(f"v={version}")
    if size is not None:
        params.append(f"size={size}")
    url = datasette.urls.path(f"/-/files/{file.id}/thumbnail")
    return url + ("?" + "&".join(params) if params else "")
