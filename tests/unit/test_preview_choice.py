"""Which viewer a file gets: inline kinds only by registered type, text by name too."""

import pytest

from datasette_files.previews.choice import preview_kind
from datasette_files.registry import FileRow


def row(content_type: str, filename: str) -> FileRow:
    return FileRow(seq=1, id="df-x", source_slug="s", path=filename, filename=filename,
                   content_type=content_type, content_hash=None, size=1, width=None,
                   height=None, uploaded_by=None, created_at="2026-12-02 00:00:00")


@pytest.mark.parametrize("content_type, filename, kind", [
    ("image/png", "a.png", "image"), ("IMAGE/JPEG; x=1", "a", "image"),
    ("image/svg+xml", "a.svg", "text"), ("image/tiff", "a.tif", None),
    # A name never makes bytes inline: only the registered type does.
    ("application/octet-stream", "a.png", None), ("application/octet-stream", "a.mp4", None),
    ("audio/mpeg", "a.mp3", "audio"), ("video/mp4", "a.mp4", "video"),
    ("application/pdf", "a", "pdf"), ("application/octet-stream", "a.PDF", "pdf"),
    ("application/x-pdf", "a.bin", "pdf"),
    ("text/csv", "a", "csv"), ("application/octet-stream", "a.tsv", "csv"),
    ("text/markdown", "a", "markdown"), ("text/plain", "README.md", "markdown"),
    ("application/json", "a", "json"), ("application/octet-stream", "a.json", "json"),
    ("text/html", "a.html", "text"), ("application/octet-stream", "a.py", "text"),
    ("text/plain", "a", "text"), ("application/zip", "a.zip", None), ("", "x", None),
])
def test_preview_kind(content_type, filename, kind):
    assert preview_kind(row(content_type, filename)) == kind
