"""The malformed inputs bench/hostile.py sends: issue 14's fifteen and their
kin, for every numeric parameter, cursor, JSON body and header the API reads.
Each should get a 4xx (a JSON error from the JSON endpoints), never a 5xx."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Case:
    label: str
    method: str
    path: str
    who: str = "member"  # member (owns the files it touches), admin, or anonymous
    params: list = field(default_factory=list)
    content: Optional[bytes] = None
    headers: dict = field(default_factory=dict)
    json_endpoint: bool = True


# Unicode digits pass str.isdigit() and fail int(); the rest are the usual suspects.
BAD_NUMBERS = ["²", "٣", "1²", "-1", "0", "1.5", "1e3", "0x10", " 5", "+5", "NaN", "inf",
               "99999999999999999999999999", "9" * 5000, "\x00", "%", "[]"]
SEARCH_CURSORS = ["s²", "o²", "s٣", "s" + "9" * 30, "o" + "9" * 30, "o" + "9" * 5000, "s-1",
                  "o-1", "s", "o", "x1", "s1.5", "\x00", "o 1"]
LISTING_CURSOR_VALUES = [
    [[1], 1], [{"a": 1}, 1], [1, [1]], [1, {}], [1, 10 ** 30], [10 ** 30, 1], [1, 1.5],
    [None, 1], [1e308, 1], ["x" * 10000, 1], [1, 2 ** 63], [1, -2 ** 63 - 1], [True, 1],
    [1, True], "x", 5, {}, [], [1], [1, 2, 3],
]
LISTING_CURSOR_TEXTS = [b"[NaN, 1]", b"[Infinity, 1]", b"[1e999, 1]", b"[1, 1e999]",
                        b"\xff\xfe", b"[" * 10000, b'["\\ud800", 1]']
QUERIES = ["\x00", "\x00" * 100, '"', '""', "*", "NEAR(a b)", "a:b", "^x", "-x", "(", "a OR",
           "x" * 10000]
FOLDERS = ["\x00", "../..", "/" * 1000, "a\\b", "%"]
# Sent to every endpoint that reads a JSON body.
JSON_BODIES = [
    (b"[" * 100_000, "100,000 nested ["),
    (b'{"a":' * 50_000, "50,000 nested {"),
    (b"[1e999]", "[1e999]"),
    (b'"\\ud800"', "lone surrogate"),
    (b"\xef\xbb\xbf{}", "BOM"),
    ('{}'.encode("utf-16"), "UTF-16"),
    (b"\x00", "NUL"),
    (b"[]", "a list"),
    (b"9" * 5000, "a 5,000-digit number"),
]
PREPARE_BODIES = [
    '{"filename": "a", "size": 1e999}', '{"filename": "a", "size": ' + "9" * 5000 + "}",
    '{"filename": "a", "size": NaN}', '{"filename": "a", "size": Infinity}',
    '{"filename": "a", "size": 99999999999999999999999999}', '{"filename": ["a"]}',
    '{"filename": {"a": 1}}', '{"filename": "a", "content_type": []}',
    '{"filename": "\\ud800"}', '{"filename": "a", "size": -0.0}',
]
COMPLETE_BODIES = [
    '{"upload_token": []}', '{"upload_token": {}}', '{"upload_token": 1e999}',
    '{"upload_token": 99999999999999999999}', '{"upload_token": "tok_x", "sha256": 5}',
    '{"upload_token": "tok_x", "sha256": []}', '{"upload_token": "\\ud800"}',
]
UPDATE_BODIES = [
    '{"update": {"search_text": null}}', '{"update": []}', '{"update": {"search_text": ["x"]}}',
    '{"update": {"search_text": {}}}', '{"update": {"search_text": "\\ud800"}}',
]
IMPORT_BODIES = [
    '{"database": [], "table_name": "t"}', '{"database": {}, "table_name": "t"}',
    '{"database": "data", "table_name": 5}', '{"database": "data", "table_name": []}',
    '{"database": "data", "table_name": "t", "delimiter": []}',
    '{"database": "data", "table_name": "t", "has_header": []}', '{"database": null}',
    '{"database": 1e999, "table_name": "t"}',
]
RANGES = ["bytes=²-", "bytes=-²", "bytes=٣-5", "bytes=99999999999999999999999-",
          "bytes=0-99999999999999999999999", "bytes=-99999999999999999999999", "bytes=5-1",
          "bytes=" + "0-1," * 1000, "items=0-1", "bytes=--1", "bytes=1-2-3", "bytes= -"]
CONTENT_RANGES = ["bytes ²-5/10", "bytes 0-5/²", "bytes ٣-5/10",
                  "bytes 0-99999999999999999999/99999999999999999999", "bytes 5-1/10",
                  "bytes */10", "bytes 0-0/0", "bytes 0-4/-5", "bytes 0-4/1e3", "chunks 0-4/10"]
BOUNDARIES = ["a" * 2000, '""', "x; boundary=y", "é"]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cases(ids: dict) -> list[Case]:
    """Every case, given ids: ``text`` and ``victim`` (files the member owns),
    ``csv`` (the admin's), ``png`` (with a thumbnail) and ``token`` (a prepared
    10-byte upload)."""
    out: list[Case] = []
    text, csv, png, token = ids["text"], ids["csv"], ids["png"], ids["token"]
    for value in BAD_NUMBERS:
        shown = value if len(value) < 20 else f"{value[:3]}...({len(value)} chars)"
        out += [
            Case(f"search.json limit={shown!r}", "GET", "/-/files/search.json",
                 params=[("limit", value)]),
            Case(f"search.json _size={shown!r}", "GET", "/-/files/search.json",
                 params=[("_size", value)]),
            Case(f"source listing limit={shown!r}", "GET", "/-/files/source/team.json",
                 params=[("limit", value)]),
            Case(f"source page page={shown!r}", "GET", "/-/files/source/team",
                 params=[("page", value)], json_endpoint=False),
            Case(f"thumbnail size={shown!r}", "GET", f"/-/files/{png}/thumbnail",
                 params=[("size", value)]),
        ]
    for cursor in SEARCH_CURSORS:
        shown = cursor if len(cursor) < 20 else f"{cursor[:3]}...({len(cursor)} chars)"
        for q in ("", "report"):
            out.append(Case(f"search.json next={shown!r} q={q!r}", "GET", "/-/files/search.json",
                            params=[("next", cursor), ("q", q)]))
        out.append(Case(f"search page next={shown!r}", "GET", "/-/files/search",
                        params=[("next", cursor), ("q", "report")], json_endpoint=False))
    raw_cursors = [(json.dumps(v).encode(), json.dumps(v)[:30]) for v in LISTING_CURSOR_VALUES]
    raw_cursors += [(t, t[:30].decode("latin-1")) for t in LISTING_CURSOR_TEXTS]
    for raw, shown in raw_cursors:
        for sort in ("date", "name", "size", "type"):
            out.append(Case(f"listing next={shown} sort={sort}", "GET",
                            "/-/files/source/team.json",
                            params=[("next", _cursor(raw)), ("sort", sort)]))
    for text_cursor in ("!!!", "%%%", "\x00", "a" * 10001):
        out.append(Case(f"listing next={text_cursor[:10]!r}", "GET", "/-/files/source/team.json",
                        params=[("next", text_cursor)]))
    for q in QUERIES:
        shown = q if len(q) < 20 else f"{q[:3]}...({len(q)} chars)"
        out.append(Case(f"search.json q={shown!r}", "GET", "/-/files/search.json",
                        params=[("q", q)]))
        out.append(Case(f"search page q={shown!r}", "GET", "/-/files/search",
                        params=[("q", q)], json_endpoint=False))
    for raw_query in ("q=%FF", "q=%ED%A0%80", "q=%00", "limit=%B2", "q=report&q=%00"):
        out.append(Case(f"search.json ?{raw_query}", "GET", f"/-/files/search.json?{raw_query}"))
    for folder in FOLDERS:
        out += [Case(f"search.json folder={folder[:10]!r}", "GET", "/-/files/search.json",
                     params=[("folder", folder), ("q", "report")]),
                Case(f"listing folder={folder[:10]!r}", "GET", "/-/files/source/team.json",
                     params=[("folder", folder)]),
                Case(f"source page folder={folder[:10]!r}", "GET", "/-/files/source/team",
                     params=[("folder", folder)], json_endpoint=False)]
    out += [Case("search.json sort twice", "GET", "/-/files/search.json",
                 params=[("sort", "newest"), ("sort", "x")]),
            Case("listing order=²", "GET", "/-/files/source/team.json", params=[("order", "²")]),
            Case("batch.json id=²", "GET", "/-/files/batch.json", params=[("id", "²")]),
            Case("batch.json id=df-²²", "GET", "/-/files/batch.json",
                 params=[("id", "df-" + "²" * 26)]),
            Case("file json df-%00", "GET", "/-/files/df-%00.json"),
            Case("download df-²", "GET", "/-/files/df-²/download"),
            Case("thumbnail %FF", "GET", "/-/files/%FF/thumbnail"),
            Case("import progress imp-99..9", "GET",
                 f"/-/files/import/{csv}/imp-{'9' * 40}.json", who="admin")]

    json_endpoints = [
        ("prepare", "/-/files/upload/team/-/prepare", "member", PREPARE_BODIES),
        ("complete", "/-/files/upload/team/-/complete", "member", COMPLETE_BODIES),
        ("update", f"/-/files/{text}/-/update", "member", UPDATE_BODIES),
        ("import", f"/-/files/import/{csv}", "admin", IMPORT_BODIES),
        # A body it accepts ({} with a BOM, in UTF-16...) deletes the file: its own.
        ("delete", f"/-/files/{ids['victim']}/-/delete", "member", []),
    ]
    for name, path, who, specific in json_endpoints:
        bodies = list(JSON_BODIES) + [(body.encode(), body[:40]) for body in specific]
        for body, shown in bodies:
            out.append(Case(f"{name} body {shown}", "POST", path, who=who, content=body,
                            headers={"Content-Type": "application/json"}))
    for value in RANGES:
        out.append(Case(f"download Range: {value[:30]}", "GET", f"/-/files/{text}/download",
                        headers={"Range": value.encode("utf-8").decode("latin-1")}))
    out.append(Case("download If-Range garbage", "GET", f"/-/files/{text}/download",
                    headers={"Range": "bytes=0-1", "If-Range": "\x7f" * 100}))
    for value in CONTENT_RANGES:
        out.append(Case(f"upload Content-Range: {value[:30]}", "POST",
                        "/-/files/upload/team/-/upload", content=b"01234",
                        headers={"X-Upload-Token": token, "Content-Range":
                                 value.encode("utf-8").decode("latin-1")}))
    for value in ("²", "tok_" + "x" * 10000, "tok_²"):
        out.append(Case(f"upload progress token={value[:8]!r}", "GET",
                        "/-/files/upload/team/-/upload", params=[("upload_token", value)]))
    for boundary in BOUNDARIES:
        out.append(Case(f"multipart boundary={boundary[:10]!r}", "POST",
                        "/-/files/upload/team/-/upload", content=b"--x\r\n\r\n--x--\r\n",
                        headers={"Content-Type": "multipart/form-data; boundary="
                                 + boundary.encode().decode("latin-1")}))
    multipart = "multipart/form-data; boundary=XYZ"
    for body, shown in [
        (b"--XYZ\r\nno colon here\r\n\r\nx\r\n--XYZ--\r\n", "a header without a colon"),
        (b"--XYZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XYZ--\r\n",
         "a part without a name"),
        (b"--XYZ\r\nX: " + b"h" * 200_000 + b"\r\n\r\nx\r\n--XYZ--\r\n", "a 200 KB header line"),
        (f'--XYZ\r\nContent-Disposition: form-data; name="upload_token"\r\n\r\n{token}\r\n'
         '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="\x00"\r\n\r\n'
         "x\r\n--XYZ--\r\n".encode(), "a NUL filename"),
    ]:
        out.append(Case(f"multipart {shown}", "POST", "/-/files/upload/team/-/upload",
                        content=body, headers={"Content-Type": multipart}))
    for name in ("%00", "%FF", "a" * 5000, "%2e%2e"):
        out.append(Case(f"PUT /-/files/upload/team/{name[:10]}", "PUT",
                        f"/-/files/upload/team/{name}", content=b"x"))
    out += [Case("PUT Content-Type garbage", "PUT", "/-/files/upload/team/t.txt", content=b"x",
                 headers={"Content-Type": "\x7f/\x7f"})]
    out += [Case("login username twice", "POST", "/-/login", who="anonymous",
                 content=b"username=a&username=b&password=x", json_endpoint=False,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
            Case("login 1 MB password", "POST", "/-/login", who="anonymous",
                 content=b"username=alice&password=" + b"x" * 1_000_000, json_endpoint=False,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
            Case("login JSON body", "POST", "/-/login", who="anonymous",
                 content=b"[" * 100_000, json_endpoint=False,
                 headers={"Content-Type": "application/json"}),
            Case("login %%% body", "POST", "/-/login", who="anonymous", content=b"%%%&=&%FF",
                 json_endpoint=False,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})]
    return out
