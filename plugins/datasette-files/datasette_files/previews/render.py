"""Text previews rendered from a file's first bytes: text, JSON, Markdown, CSV.

Everything here is pure and CPU-bound, and runs in the limited worker process
(thumbnails/worker.py): Markdown, pretty-printed JSON and wide CSV tables can
each take seconds on a crafted 256 KiB. The result is a plain dict (pickled
back to the server) whose ``html``, when present, is already escaped.
"""

from __future__ import annotations

import json
from typing import Optional

from ..csv_import.detect import decode_sample
from .csv_table import csv_table
from .markdown import render_markdown

# The pretty-printed JSON shown at most: indentation can multiply a deeply
# nested document's size by hundreds.
MAX_PRETTY_JSON_CHARS = 2 * 1024 * 1024


def looks_binary(sample: bytes) -> bool:
    """A NUL byte does not occur in text (UTF-16 aside, shown as binary too)."""
    return b"\x00" in sample


def render_text_preview(kind: str, sample: bytes, filename: str, cut: bool) -> dict:
    """What ``kind``'s template shows of ``sample``, the file's first bytes
    (``cut``: the file goes on past them)."""
    if looks_binary(sample):
        return {"binary": True}
    text, encoding = decode_sample(sample)
    preview = {"encoding": encoding}
    if kind == "json":
        preview.update(pretty_json(text, cut))
    elif kind == "markdown":
        preview["html"] = render_markdown(text)
    elif kind == "csv":
        preview.update(csv_table(text, filename, cut))
    else:
        preview["text"] = text
    return preview


def pretty_json(text: str, cut: bool) -> dict:
    """``{"text": ...}`` indented by 2, or the raw text and a ``reason`` it is not."""
    if cut:
        return {"text": text, "reason": "The file is longer than what is shown, so it is "
                                          "shown as it is, not pretty-printed."}
    try:
        document = json.loads(text)
    except RecursionError:
        return {"text": text, "reason": "This JSON is nested too deeply to pretty-print."}
    except ValueError as ex:
        if "digits" in str(ex):  # Python's cap on converting long integers
            return {"text": text, "reason": "A number in this JSON is too long to "
                                            "pretty-print, so it is shown as it is."}
        return {"text": text, "reason": f"This is not valid JSON ({_first_line(ex)}), "
                                        "so it is shown as it is."}
    try:
        pretty = _bounded_dumps(document)
    except (RecursionError, ValueError):
        return {"text": text, "reason": "This JSON is nested too deeply to pretty-print."}
    if pretty is None:
        return {"text": text, "reason": "Pretty-printed, this JSON would be too long to "
                                        "show, so it is shown as it is."}
    return {"text": pretty}


def _bounded_dumps(document) -> Optional[str]:
    parts, length = [], 0
    for part in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(document):
        parts.append(part)
        length += len(part)
        if length > MAX_PRETTY_JSON_CHARS:
            return None
    return "".join(parts)


def _first_line(ex: Exception) -> str:
    return str(ex).splitlines()[0][:200] if str(ex) else type(ex).__name__
