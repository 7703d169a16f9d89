"""SVG file-type icons: the thumbnail of a file no generator can draw."""

from __future__ import annotations

import html
import os

# (colour, label) by kind; the label is the extension when there is one.
KINDS = {
    "image": "#7c3aed",
    "video": "#db2777",
    "audio": "#ea580c",
    "pdf": "#dc2626",
    "text": "#475569",
    "table": "#16a34a",
    "archive": "#a16207",
    "code": "#2563eb",
    "file": "#64748b",
}
_BY_TYPE = {
    "application/pdf": "pdf",
    "text/csv": "table",
    "text/tab-separated-values": "table",
    "application/vnd.ms-excel": "table",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "table",
    "application/zip": "archive",
    "application/gzip": "archive",
    "application/x-tar": "archive",
    "application/x-7z-compressed": "archive",
    "application/json": "code",
    "application/javascript": "code",
    "text/html": "code",
    "application/xml": "code",
}


def kind_of(content_type: str) -> str:
    content_type = (content_type or "").lower()
    if content_type in _BY_TYPE:
        return _BY_TYPE[content_type]
    major = content_type.split("/")[0]
    return major if major in ("image", "video", "audio", "text") else "file"


def icon_svg(content_type: str, filename: str) -> str:
    """A 200x200 document icon, coloured by kind and labelled with the extension."""
    kind = kind_of(content_type)
    extension = os.path.splitext(filename or "")[1].lstrip(".")[:5].upper()
    label = html.escape(extension or kind.upper()[:5])
    colour = KINDS[kind]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200"'
        f' role="img" aria-label="{html.escape(kind)} file">'
        '<path d="M50 20h70l40 40v120H50z" fill="#f8fafc" stroke="#94a3b8" stroke-width="4"/>'
        '<path d="M120 20v40h40" fill="#e2e8f0" stroke="#94a3b8" stroke-width="4"/>'
        f'<rect x="38" y="112" width="124" height="44" rx="6" fill="{colour}"/>'
        '<text x="100" y="142" font-family="system-ui, sans-serif" font-size="24"'
        f' font-weight="700" fill="#fff" text-anchor="middle">{label}</text></svg>'
    )
