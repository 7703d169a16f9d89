"""One request of the sequence, written once and sent to both servers.

Ids differ between the servers, so a call names them by symbol: ``{report}`` is
the id of the file saved as "report" on whichever server the call goes to,
``{tok_report}`` its upload token. A call's ``save`` learns symbols from its
answer."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import httpx

# What a symbol stands for on a server where the step that should have saved
# it failed: an id nothing has, so the calls that use it still go out.
UNKNOWN_ID = "df-00000000000000000000000000"


@dataclass
class Call:
    """``name`` is the stable part of every difference key this call produces
    (``family.case``). ``body`` is how answers are compared: "json", "html" and
    "media" (a thumbnail: status and type only), or "bytes" (a download: its
    bytes and Content-Disposition too). ``values``: JSON paths (/a/b) whose
    values, not only types, must be the same (words a client branches on)."""

    name: str
    actor: Optional[str]
    method: str
    path: str
    json: Any = None
    content: Optional[bytes] = None
    form: Optional[dict] = None
    files: Optional[dict] = None
    headers: dict = field(default_factory=dict)
    body: str = "json"
    values: tuple[str, ...] = ()
    save: dict[str, Callable[[httpx.Response], str]] = field(default_factory=dict)

    def request(self, client: httpx.Client, symbols: "Symbols") -> httpx.Response:
        fill = symbols.fill
        kwargs: dict[str, Any] = {"headers": {k: fill(v) for k, v in self.headers.items()}}
        if self.json is not None:
            kwargs["json"] = _fill_json(self.json, fill)
        if self.content is not None:
            kwargs["content"] = self.content
        if self.form is not None:
            kwargs["data"] = {k: fill(v) for k, v in self.form.items()}
        if self.files is not None:
            kwargs["files"] = self.files
        return client.request(self.method, fill(self.path), **kwargs)


def _fill_json(value, fill):
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _fill_json(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, fill) for v in value]
    return value


class Symbols:
    """One server's values for the symbols calls use."""

    def __init__(self, preset: dict[str, str]):
        self.values = dict(preset)

    def fill(self, text: str) -> str:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        return text.format_map({name: self.values.get(name, UNKNOWN_ID) for name in fields})

    def symbolic(self, text: str) -> str:
        """``text`` with this server's values put back as ``<symbol>``."""
        for name, value in self.values.items():
            # Short values (the reference's import ids are 1, 2...) would
            # match inside anything; ids and tokens are long.
            if len(value) >= 8 and value in text:
                text = text.replace(value, f"<{name}>")
        return text


def file_id_of(response: httpx.Response) -> str:
    return response.json()["file"]["id"]


def token_of(response: httpx.Response) -> str:
    return response.json()["upload_token"]


def import_of(response: httpx.Response) -> str:
    """The import id a started import's redirect (or JSON ``url``) names."""
    url = response.headers.get("location") or response.json().get("url", "")
    return re.search(r"/-/files/import/[^/]+/([^/.?]+)", url).group(1)
