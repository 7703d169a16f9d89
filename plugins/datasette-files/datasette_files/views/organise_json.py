"""The JSON of folders and trash items (the file object is ``file_json``)."""

from __future__ import annotations

import datetime
import urllib.parse

from ..clock import format_timestamp, parse_timestamp
from ..registry import FolderRow, TrashItem
from .file_json import file_json


def folder_json(datasette, folder: FolderRow) -> dict:
    return {
        "source": folder.source_slug,
        "path": folder.path,
        "name": folder.name,
        "parent": folder.parent,
        "file_count": folder.file_count,
        "folder_count": folder.folder_count,
        "created_at": folder.created_at or None,
        "url": folder_url(datasette, folder.source_slug, folder.path),
    }


def folder_url(datasette, slug: str, path: str) -> str:
    url = datasette.urls.path(f"/-/files/source/{slug}")
    return url + ("?" + urllib.parse.urlencode({"folder": path}) if path else "")


def trash_item_json(datasette, item: TrashItem, retention_days: float) -> dict:
    base = datasette.urls.path(f"/-/files/trash/{item.source_slug}/{item.id}")
    purge_after = parse_timestamp(item.trashed_at) + datetime.timedelta(days=retention_days)
    return {
        "id": item.id,
        "kind": item.kind,
        "source": item.source_slug,
        "name": item.name,
        "folder": item.folder,
        "trashed_at": item.trashed_at,
        "trashed_by": item.trashed_by,
        "purge_after": format_timestamp(purge_after),
        "files": item.files,
        "size": item.size,
        "file": file_json(datasette, item.file) if item.file is not None else None,
        "restore_url": f"{base}/-/restore",
        "purge_url": f"{base}/-/purge",
    }
