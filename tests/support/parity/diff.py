"""How two answers to one call are compared.

A difference has a stable key, ``<call> <aspect> [<where>]``, which is what
COMPATIBILITY.md lists: aspects are ``status``, ``content-type``, ``location``,
``missing`` (a key the reference has and ours lacks), ``type`` (a value's JSON
type, null counting as a type), ``length`` (of a list), ``body`` (download
bytes), ``content-disposition``, ``value`` (of a path the call names in ``values``),
and ``error-shape`` (ours' JSON error is not
``{"ok": false, "errors": [...]}``). ``extra`` (a key only ours has) is
reported, never failed. JSON paths are written /a/b, with # for any list item.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import httpx

from .calls import Call, Symbols

INFORMATIONAL = {"extra"}


@dataclass(frozen=True)
class Difference:
    key: str
    reference: str
    ours: str

    @property
    def informational(self) -> bool:
        return self.key.split(" ")[1] in INFORMATIONAL


@dataclass
class Answer:
    """A server's response, with its own ids put back as symbols."""

    status: int
    media_type: str
    headers: httpx.Headers
    body: bytes
    symbols: Symbols

    @classmethod
    def of(cls, response: httpx.Response, symbols: Symbols) -> "Answer":
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return cls(response.status_code, media_type, response.headers, response.content,
                   symbols)

    def json(self) -> Any:
        try:
            return _symbolic(json.loads(self.body), self.symbols)
        except ValueError:
            return None

    def header(self, name: str) -> Optional[str]:
        value = self.headers.get(name)
        return None if value is None else self.symbols.symbolic(value)


def compare(call: Call, reference: Answer, ours: Answer) -> list[Difference]:
    """What differs, most telling first: a different status says it all; a
    different type of body makes its keys moot."""
    found = _own_error_shape(call, ours)
    if reference.status != ours.status:
        return found + [_diff(call, "status", reference.status, ours.status)]
    if 300 <= reference.status < 400:
        return found + _compare_location(call, reference, ours)
    if reference.media_type != ours.media_type:
        return found + [_diff(call, "content-type", reference.media_type, ours.media_type)]
    if call.body == "bytes" and reference.status == 200:
        return found + _compare_bytes(call, reference, ours)
    if reference.media_type == "application/json":
        return found + compare_json(call, reference.json(), ours.json()) + _compare_values(
            call, reference.json(), ours.json())
    return found


def _compare_values(call: Call, reference: Any, ours: Any) -> list[Difference]:
    found = []
    for path in call.values:
        ref_value, our_value = _at(reference, path), _at(ours, path)
        if ref_value != our_value:
            found.append(_diff(call, "value", json.dumps(ref_value), json.dumps(our_value),
                               path))
    return found


def _at(value: Any, path: str) -> Any:
    for key in path.strip("/").split("/"):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _own_error_shape(call: Call, ours: Answer) -> list[Difference]:
    """Our JSON errors always say ``{"ok": false, "errors": [...]}``."""
    if ours.status < 400 or ours.media_type != "application/json":
        return []
    body = ours.json()
    if (isinstance(body, dict) and body.get("ok") is False
            and isinstance(body.get("errors"), list) and body["errors"]
            and all(isinstance(message, str) for message in body["errors"])):
        return []
    return [_diff(call, "error-shape", "-", json.dumps(body)[:60])]


def _compare_location(call, reference: Answer, ours: Answer) -> list[Difference]:
    def normal(answer):
        location = answer.header("location") or ""
        # Import ids: the reference's are 1, 2...; symbols put back only long ones.
        return re.sub(r"(/-/files/import/[^/]+/)[^/?#.]+", r"\1<import>", location)

    if normal(reference) != normal(ours):
        return [_diff(call, "location", normal(reference), normal(ours))]
    return []


def _compare_bytes(call, reference: Answer, ours: Answer) -> list[Difference]:
    found = []
    if hashlib.sha256(reference.body).digest() != hashlib.sha256(ours.body).digest():
        found.append(_diff(call, "body", f"{len(reference.body)} bytes",
                           f"{len(ours.body)} bytes"))
    disposition = reference.header("content-disposition")
    if disposition is not None and disposition != ours.header("content-disposition"):
        found.append(_diff(call, "content-disposition", disposition,
                           ours.header("content-disposition")))
    return found


def compare_json(call: Call, reference: Any, ours: Any, path: str = "") -> list[Difference]:
    """The reference's keys, recursively (every item of a list against the item
    of ours at the same place), their values' types, and keys only ours has."""
    where = path or "/"
    if _kind(reference) != _kind(ours):
        return [_diff(call, "type", _kind(reference), _kind(ours), where)]
    found: list[Difference] = []
    if isinstance(reference, dict):
        for key, value in reference.items():
            if key not in ours:
                found.append(_diff(call, "missing", "present", "absent", f"{path}/{key}"))
            else:
                found += compare_json(call, value, ours[key], f"{path}/{key}")
        for key in ours.keys() - reference.keys():
            found.append(_diff(call, "extra", "absent", "present", f"{path}/{key}"))
    elif isinstance(reference, list):
        if len(reference) != len(ours):
            found.append(_diff(call, "length", len(reference), len(ours), where))
        for ref_item, our_item in zip(reference, ours):
            found += compare_json(call, ref_item, our_item, f"{path}/#")
    return list(dict.fromkeys(found))  # list items repeat the same differences


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _symbolic(value: Any, symbols: Symbols) -> Any:
    """Ids as symbols, in keys (batch.json's) as in values."""
    if isinstance(value, str):
        return symbols.symbolic(value)
    if isinstance(value, dict):
        return {symbols.symbolic(k): _symbolic(v, symbols) for k, v in value.items()}
    if isinstance(value, list):
        return [_symbolic(v, symbols) for v in value]
    return value


def _diff(call: Call, aspect: str, reference, ours, where: str = "") -> Difference:
    key = f"{call.name} {aspect}" + (f" {where}" if where else "")
    return Difference(key, str(reference), str(ours))
