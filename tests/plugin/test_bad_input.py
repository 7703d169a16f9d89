"""Bad input gets a precise JSON 4xx, never a 500 or an HTML page, and changes nothing."""

import os
import socket

import pytest

from support import api


@pytest.fixture(scope="module")
def client(open_server):
    with open_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def a_file(client):
    return api.upload(client, "one", "target.txt", b"target")


PREPARE = "/-/files/upload/one/-/prepare"


@pytest.mark.parametrize(
    "body,status,fragment",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'"just a string"', 400, "must be a JSON object"),
        (b"\xff\xfe\x00", 400, "not valid JSON"),
        (b"{}", 400, "'filename' is required"),
        (b'{"filename": 42}', 400, "'filename' is required"),
        (b'{"filename": "   "}', 400, "'filename' is required"),
        (b'{"filename": "../"}', 400, "no usable name"),
        (b'{"filename": "a", "size": "12"}', 400, "'size' must be a whole number"),
        (b'{"filename": "a", "size": -1}', 400, "'size' must be a whole number"),
        (b'{"filename": "a", "size": 1.5}', 400, "'size' must be a whole number"),
        (b'{"filename": "a", "size": true}', 400, "'size' must be a whole number"),
        (b'{"filename": "a", "content_type": 7}', 400, "'content_type' must be a string"),
        (b'{"filename": "a", "content_type": "not a type"}', 400, "not a valid MIME type"),
        (b'{"filename": "a", "content_type": "text/html\\r\\nX-Evil: 1"}', 400, "not a valid MIME type"),
    ],
)
def test_prepare_rejects(client, body, status, fragment):
    response = client.post(PREPARE, content=body, headers={"Content-Type": "application/json"})
    api.assert_api_error(response, status, fragment)


def test_oversized_json_body_is_413(client):
    response = client.post(PREPARE, content=b'{"filename": "' + b"a" * 300_000 + b'"}')
    api.assert_api_error(response, 413, "JSON body is larger")


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/-/files/upload/one/-/prepare"),
        ("PUT", "/-/files/upload/one/-/upload"),
        ("GET", "/-/files/upload/one/-/complete"),
        ("PUT", "/-/files/upload/one/-/prepare"),
        ("POST", "/-/files/search.json"),
    ],
)
def test_wrong_method_is_405_json(client, method, path):
    api.assert_api_error(client.request(method, path), 405, "not allowed")


@pytest.mark.parametrize("step", ["prepare", "upload", "complete"])
def test_unknown_source_is_404_json(client, step):
    response = client.post(f"/-/files/upload/nosuch/-/{step}", json={"filename": "a"})
    api.assert_api_error(response, 404, "Source not found: nosuch")


def test_unknown_source_filter_in_search(client):
    api.assert_api_error(client.get("/-/files/search.json?source=nosuch"), 404, "Source not found")


@pytest.mark.parametrize(
    "method,suffix",
    [("GET", ".json"), ("GET", "/download"), ("POST", "/-/delete"), ("POST", "/-/update")],
)
@pytest.mark.parametrize("file_id", ["df-01aaaaaaaaaaaaaaaaaaaaaaaa", "not-an-id", "df-%2e%2e"])
def test_unknown_file_is_404_json(client, method, suffix, file_id):
    response = client.request(method, f"/-/files/{file_id}{suffix}", json={})
    api.assert_api_error(response, 404, "There is no file")


def test_a_delete_of_an_unknown_file_is_a_404_whatever_its_body(client):
    """0.1a3 never reads a delete's body: a file it does not have is a 404
    even when the body is not JSON (ours read the body first, a 400)."""
    response = client.post("/-/files/df-01aaaaaaaaaaaaaaaaaaaaaaaa/-/delete", content=b"{",
                           headers={"Content-Type": "application/json"})
    api.assert_api_error(response, 404, "There is no file")


@pytest.mark.parametrize(
    "body,fragment",
    [
        ({}, "Expected {\"update\""),
        ({"update": "text"}, "Expected {\"update\""),
        ({"update": {"filename": "x"}}, "only search_text can be updated"),
        ({"update": {"search_text": 5}}, "'search_text' must be a string"),
        ({"update": {"search_text": "x" * 100_001}}, "longer than 100000"),
    ],
)
def test_update_rejects(client, a_file, body, fragment):
    response = client.post(f"/-/files/{a_file['id']}/-/update", json=body)
    api.assert_api_error(response, 400, fragment)
    assert client.get(f"/-/files/{a_file['id']}.json").json()["search_text"] == ""


@pytest.mark.parametrize(
    "params,fragment",
    [
        ({"limit": "0"}, "'limit' must be"),
        ({"limit": "abc"}, "'limit' must be"),
        ({"limit": "100000"}, "'limit' must be"),
        ({"next": "garbage"}, "Invalid cursor"),
        ({"sort": "sideways"}, "'sort' must be"),
        # Both names of the page size are read, whichever is used.
        ({"limit": "10", "_size": "0"}, "'_size' must be"),
    ],
)
def test_search_rejects(client, params, fragment):
    api.assert_api_error(client.get("/-/files/search.json", params=params), 400, fragment)


def test_batch_limits_ids(client):
    params = [("id", f"df-{i:026d}") for i in range(1001)]
    api.assert_api_error(client.get("/-/files/batch.json", params=params), 400, "At most 1000")
    # The limit is on what is sent: the same id 1001 times is as much to read.
    repeated = [("id", "df-00000000000000000000000000")] * 1001
    api.assert_api_error(client.get("/-/files/batch.json", params=repeated), 400, "At most 1000")


def test_multipart_without_a_file_or_with_the_token_after_it(client):
    token = api.prepare(client, "one", "x.bin", 1).json()["upload_token"]
    no_file = client.post("/-/files/upload/one/-/upload", files={"upload_token": (None, token)})
    api.assert_api_error(no_file, 400, "No file in the form")
    # A file before any token: the upload cannot be identified before its bytes arrive.
    late_token = client.post(
        "/-/files/upload/one/-/upload",
        files=[("file", ("x.bin", b"x")), ("upload_token", (None, token))],
    )
    api.assert_api_error(late_token, 400, "'upload_token' is required")
    broken = client.post(
        "/-/files/upload/one/-/upload",
        content=b"--XYZ\r\ngarbage",
        headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert broken.status_code == 400 and broken.json()["ok"] is False
    no_boundary = client.post(
        "/-/files/upload/one/-/upload", content=b"x",
        headers={"Content-Type": "multipart/form-data"},
    )
    api.assert_api_error(no_boundary, 400, "without a boundary")


HOSTILE_NAMES = [
    "../../../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\system32\\config",
    "a\x00b.txt",
    "nul\x00/../../x",
    "\u202etxt.exe",
    "x" * 5000 + ".txt",
    "名前.txt",
    "....",
    ".hidden",
    "con.txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_filenames_stay_inside_the_root(open_server, client, name):
    root = open_server.data_dir / "one"
    file = api.upload(client, "one", name, b"safe")
    assert client.get(file["download_url"]).content == b"safe"
    assert "\x00" not in file["filename"] and "/" not in file["filename"]
    assert len(file["filename"]) <= 255
    stored = [f for f in os.listdir(root) if f.startswith(file["id"])]
    assert len(stored) == 1
    assert all(c.isalnum() or c in "._-" for c in stored[0])
    assert len(stored[0].encode()) <= 160
    for outside in (open_server.data_dir / "etc", open_server.data_dir.parent / "etc"):
        assert not outside.exists()


def test_no_500_for_a_missing_json_body(client, a_file):
    response = client.post(f"/-/files/{a_file['id']}/-/update")
    api.assert_api_error(response, 400, "Expected")


# ---------------------------------------------------------------------------
# Every route of plugin.register_routes, parameter by parameter: each malformed
# value gets a 4xx (a JSON error from JSON endpoints, an HTML page from pages),
# or a 200 where the value is legitimately accepted; never a 500.

import base64  # noqa: E402
import json  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Optional  # noqa: E402

# isdigit() accepts "²" and "١" (int() refuses the first, reads the second);
# the rest are negative, zero, fractional, exponent, huge and plain garbage.
BAD_WHOLE_NUMBERS = ["²", "١", "１", "½", "-1", "0", "00", "1.5", "1e3", "1e999", "9" * 40,
                     "9223372036854775808", "+5", " 5", "5 ", "0x10", "NaN", "Infinity",
                     "abc", "\x00", "5\x00"]
BAD_SEARCH_CURSORS = ["garbage", "s", "o", "s²", "o²", "s١", "s-1", "o-1", "s" + "9" * 40,
                      "o" + "9" * 40, "s9223372036854775808", "o9223372036854775807",
                      "o99999", "s1e9", "o 1", "\x00", "s\x00"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_LISTING_CURSORS = ["!!!", "%%%", "\x00", "a", "²", "=" * 10] + [
    _b64(raw) for raw in [
        b"\xff\xfe", b"not json", b"[]", b"{}", b"5", b"null", b'"text"', b"1e999",
        b"9" * 40, b"9" * 5000, b"[1]", b"[1, 2, 3]", b'["a", "b"]', b'["a", 1.5]',
        b'["a", true]', b'["a", null]', b'["a", -1]', b'[1, 99999999999999999999999]',
        b'[{"a": 1}, 1]', b"[[1], 1]", b'[1e999, 1]', b"[99999999999999999999999, 1]",
        b'{"value": 1, "seq": 1}', b"[" * 5000 + b"]" * 5000, b"[NaN, 1]",
        b'["\\ud800", 1]', b'["a\\udfff", 1]',
    ]
]
# A body that is not a JSON object, or not JSON at all.
BAD_JSON_BODIES = [b"[]", b"[1, 2]", b'"text"', b"5", b"null", b"true", b"1e999", b"NaN",
                   b"9" * 5000, b"{", b"{]", b"\xff\xfe", b"\x00", b'{"a": 1}}',
                   b"[" * 100_000, b'{"a":' * 50_000, b"[{" * 40_000,
                   # A lone surrogate is valid JSON but no UTF-8 text.
                   b'{"filename": "\\ud800", "upload_token": "\\ud800", "update": '
                   b'{"search_text": "\\ud800"}, "table_name": "\\udc00"}']


@dataclass
class Case:
    method: str
    path: str
    params: Optional[dict] = None
    body: Optional[bytes] = None
    headers: dict = field(default_factory=dict)
    # 400 unless stated; a set where more than one answer is right.
    expect: object = 400
    html: bool = False

    def id(self) -> str:
        shown = self.params if self.params is not None else (self.body or b"")[:40]
        return f"{self.method} {self.path} {shown!r} {self.headers}"[:150]


def _json_body(value) -> bytes:
    return json.dumps(value).encode()


def _cases() -> list[Case]:
    cases = []
    add = cases.append
    for name in ("limit", "_size"):
        for value in BAD_WHOLE_NUMBERS + ["501"]:
            add(Case("GET", "/-/files/search.json", {name: value}))
            add(Case("GET", "/-/files/source/one.json", {name: value} if name == "limit"
                     else {"limit": value}))
    for cursor in BAD_SEARCH_CURSORS:
        add(Case("GET", "/-/files/search.json", {"next": cursor}))
        add(Case("GET", "/-/files/search.json", {"next": cursor, "q": "target"}))
        add(Case("GET", "/-/files/search.json", {"next": cursor, "q": "target",
                                                 "sort": "relevance"}))
        add(Case("GET", "/-/files/search", {"next": cursor, "q": "target"},
                 expect={400, 404}, html=True))
    for sort in ("date", "name", "size", "type"):
        for cursor in BAD_LISTING_CURSORS:
            add(Case("GET", "/-/files/source/one.json", {"sort": sort, "next": cursor}))
    for name, value in [("sort", "sideways"), ("sort", "\x00"), ("order", "up"),
                        ("order", "\x00")]:
        add(Case("GET", "/-/files/source/one.json", {name: value}))
        add(Case("GET", "/-/files/source/one", {name: value}, html=True))
    add(Case("GET", "/-/files/search.json", {"sort": "\x00"}))
    for value in BAD_WHOLE_NUMBERS:
        add(Case("GET", "/-/files/source/one", {"page": value}, html=True))
        add(Case("GET", "/-/files/{file}/thumbnail", {"size": value}))
    # Searches: too long or too many words; NUL, odd text and folders are searched for.
    for path, html in (("/-/files/search.json", False), ("/-/files/search", True)):
        add(Case("GET", path, {"q": "x" * 513}, html=html))
        add(Case("GET", path, {"q": " ".join(["word"] * 33)}, html=html))
        add(Case("GET", path, {"q": "a" * 5000}, html=html))
        for q in ["\x00", "a\x00b", "\ud7ff", "*", "\"", "a" * 512, " ".join("w" * 32),
                  " ".join(["ab"] * 32), "² ½", "%", "' OR 1=1 --"]:
            add(Case("GET", path, {"q": q}, expect=200, html=html))
    for folder in ["\x00", "../../..", "/" * 600, "%", "a" * 5000]:
        add(Case("GET", "/-/files/search.json", {"folder": folder}, expect=200))
        # A listing names one folder: a name no folder can have is a 400, one that
        # is not there a 404 (the page too).
        add(Case("GET", "/-/files/source/one.json", {"folder": folder},
                 expect={200, 400, 404}))
        add(Case("GET", "/-/files/source/one", {"folder": folder}, expect={200, 400, 404},
                 html=True))
    add(Case("GET", "/-/files/source/one", {"page": "99999"}, expect=200, html=True))
    add(Case("GET", "/-/files/search.json", {"source": "\x00"}, expect=404))
    add(Case("GET", "/-/files/batch.json", {"id": "\x00"}, expect=200))
    add(Case("GET", "/-/files/batch.json", {"id": "²"}, expect=200))
    add(Case("GET", "/-/files/icon.svg", {"type": "\x00", "name": "\x00"}, expect=200,
             html=True))
    add(Case("POST", "/-/files/sync/one", {"confirm_removals": "²"}, body=b"", expect=403))
    add(Case("GET", "/-/files/upload/one/-/upload", {"upload_token": "\x00"}, expect=404))
    # Headers: a chunk's Content-Range, a PUT's Content-Length, a download's Range.
    for content_range in ["bytes ²-²/²", "bytes 0-9/", "bytes 9-0/10", "bytes */10",
                          "bytes 0-99999999999999999999/10", "bytes 0-9/1e999", "garbage",
                          "", "bytes -1-9/10", "bytes 0-9/-10"]:
        add(Case("POST", "/-/files/upload/one/-/upload", body=b"0123456789",
                 headers={"X-Upload-Token": "{token}", "Content-Range": content_range}))
    for byte_range in ["bytes=²-", "bytes=-", "bytes=9-1", "bytes=" + "9" * 40 + "-",
                       "bytes=-" + "9" * 40, "bytes=0-0," * 500 + "0-0", "garbage",
                       "bytes=1e9-", "bytes=٣-"]:
        add(Case("GET", "/-/files/{file}/download", headers={"Range": byte_range},
                 expect={200, 206, 416}))
    # Multipart boundaries RFC 2046 does not allow (at most 70 characters).
    for boundary in ["a" * 71, "a" * 2000, '""', "é"]:
        add(Case("POST", "/-/files/upload/one/-/upload", body=b"--x--\r\n",
                 headers={"X-Upload-Token": "{token}", "Content-Type":
                          "multipart/form-data; boundary=" + boundary}))
    # JSON bodies: not an object; then fields of the wrong type, null, huge.
    json_posts = ["/-/files/upload/one/-/prepare", "/-/files/upload/one/-/complete",
                  "/-/files/{file}/-/update", "/-/files/{file}/-/delete",
                  "/-/files/import/{csv}"]
    for path in json_posts:
        for body in BAD_JSON_BODIES:
            add(Case("POST", path, body=body, headers={"Content-Type": "application/json"}))
    prepare = "/-/files/upload/one/-/prepare"
    for bad in [None, 5, [], {}, 1e300, True, "\x00", "a" * 5000]:
        add(Case("POST", prepare, body=_json_body({"filename": bad}),
                 expect=200 if bad == "a" * 5000 else 400))
    for bad in ["12", "²", -1, 1.5, True, [], {}, 10 ** 30]:
        add(Case("POST", prepare, body=_json_body({"filename": "a.txt", "size": bad}),
                 expect=413 if bad == 10 ** 30 else 400))
    add(Case("POST", prepare, body=b'{"filename": "a.txt", "size": 1e999}'))
    add(Case("POST", prepare, body=b'{"filename": "a.txt", "size": ' + b"9" * 5000 + b"}"))
    for bad in [5, [], {}, True]:
        add(Case("POST", prepare, body=_json_body({"filename": "a.txt", "content_type": bad})))
    complete = "/-/files/upload/one/-/complete"
    for bad in [None, 5, [], {}, True, 1e300, "", "\x00", "x" * 10_000]:
        add(Case("POST", complete, body=_json_body({"upload_token": bad}),
                 expect={400, 404}))
    for bad in [5, [], {}, True, "g" * 64, "²" * 64, None]:
        add(Case("POST", complete, body=_json_body({"upload_token": "{token}", "sha256": bad})))
    update = "/-/files/{file}/-/update"
    for bad in [None, [], "text", 5, {"search_text": None}, {"search_text": 5},
                {"search_text": []}, {"search_text": {}}, {"search_text": 1e300},
                {"search_text": "x", "size": 5}]:
        add(Case("POST", update, body=_json_body({"update": bad})))
    imports = "/-/files/import/{csv}"
    for bad in [{"database": None}, {"database": 5}, {"database": []}, {"database": {}},
                {"database": "_internal"}, {"database": "\x00"},
                {"database": "nosuch", "table_name": 5},
                {"table_name": []}, {"table_name": {}}, {"table_name": 5},
                {"delimiter": 5}, {"delimiter": []}, {"delimiter": {}},
                {"has_header": []}, {"has_header": {}}]:
        add(Case("POST", imports, body=_json_body(bad)))
    # The import form (HTML): not UTF-8, not a form, too large.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body, expect in [(b"\xff\xfe=\xff", 400), (b"database=%ff%fe", 400),
                         (b"&" * 10_000, 400), (b"a=" + b"x" * 300_000, 413),
                         (b"database=nosuch&table_name=t", 400)]:
        add(Case("POST", imports, body=body, headers=form, expect=expect, html=True))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def targets(client, a_file):
    csv = api.upload(client, "one", "rows.csv", b"a,b\n1,2\n", "text/csv")
    token = api.prepare(client, "one", "chunked.bin", 10).json()["upload_token"]
    return {"file": a_file["id"], "csv": csv["id"], "token": token}


def _fill(text: str, targets: dict) -> str:
    return text.format(**targets) if "{" in text and "{\"" not in text else text


@pytest.mark.parametrize("case", CASES, ids=[case.id() for case in CASES])
def test_malformed_input_is_a_4xx(client, targets, case):
    headers = {name: _fill(value, targets).encode() for name, value in case.headers.items()}
    body = case.body
    if body is not None and not case.html:
        headers.setdefault("Content-Type", b"application/json")
    if body is not None and b"{token}" in body:
        body = body.replace(b"{token}", targets["token"].encode())
    response = client.request(case.method, _fill(case.path, targets), params=case.params,
                              content=body, headers=headers)
    expected = case.expect if isinstance(case.expect, set) else {case.expect}
    assert response.status_code in expected, (response.status_code, response.text[:500])
    # 416 is a download's answer to a range it cannot serve, not an error body.
    if response.status_code >= 400 and response.status_code != 416 and not case.html:
        api.assert_api_error(response, response.status_code)
    if response.status_code >= 400 and case.html:
        assert response.headers["content-type"].startswith("text/html"), response.text[:300]


def test_the_table_tries_every_route(client):
    """Each route in plugin.register_routes is in the table above (or in the
    tests of this module for its body), so a new route cannot be forgotten."""
    tried = {case.method + " " + case.path.split("?")[0] for case in CASES}
    for expected in ["GET /-/files/search.json", "GET /-/files/search",
                     "GET /-/files/source/one.json", "GET /-/files/source/one",
                     "GET /-/files/{file}/thumbnail", "GET /-/files/{file}/download",
                     "GET /-/files/batch.json", "GET /-/files/icon.svg",
                     "POST /-/files/sync/one", "GET /-/files/upload/one/-/upload",
                     "POST /-/files/upload/one/-/upload",
                     "POST /-/files/upload/one/-/prepare", "POST /-/files/upload/one/-/complete",
                     "POST /-/files/{file}/-/update", "POST /-/files/{file}/-/delete",
                     "POST /-/files/import/{csv}"]:
        assert expected in tried, expected
    print(f"{len(CASES)} malformed inputs tried")


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 40_000, b"[" * 33 + b"]" * 33])
def test_deeply_nested_json_is_400_naming_the_limit(client, body):
    response = client.post(PREPARE, content=body, headers={"Content-Type": "application/json"})
    api.assert_api_error(response, 400, "nested deeper than 32 levels")


@pytest.mark.parametrize("path", ["/-/files/search.json", "/-/files/search"])
@pytest.mark.parametrize("q,fragment", [
    (" ".join(["word"] * 33), "has 33 words; at most 32 are allowed"),
    ("x" * 513, "is 513 characters long; at most 512 are allowed"),
])
def test_search_text_is_capped_naming_the_limit(client, path, q, fragment):
    response = client.get(path, params={"q": q})
    assert response.status_code == 400 and fragment in response.text, response.text[:300]


def test_import_form_that_is_not_utf8_is_a_400_page(client, targets):
    response = client.post(f"/-/files/import/{targets['csv']}", content=b"database=\xff",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "not UTF-8" in response.text


UPLOAD_STEP = "/-/files/upload/one/-/upload"


def _multipart(*parts: tuple[str, bytes], boundary: str = "B0UNDARY") -> bytes:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value + b"\r\n" for name, value in parts)
    return body + f"--{boundary}--\r\n".encode()


def test_form_fields_are_capped_in_total(client):
    token = api.prepare(client, "one", "x.bin", 1).json()["upload_token"]
    headers = {"Content-Type": "multipart/form-data; boundary=B0UNDARY"}
    # Two fields of 40 KiB: each under any per-field cap, together over the total.
    big = _multipart(("a", b"x" * 40_000), ("b", b"x" * 40_000), ("upload_token", token.encode()))
    api.assert_api_error(client.post(UPLOAD_STEP, content=big, headers=headers), 413,
                         "larger than 64.0 KiB in total")
    many = _multipart(*[(f"f{n}", b"x") for n in range(33)], ("upload_token", token.encode()))
    api.assert_api_error(client.post(UPLOAD_STEP, content=many, headers=headers), 413,
                         "more than 32 fields")


def _answer_before_the_body_ends(port: int, headers: dict, first_bytes: bytes) -> bytes:
    """Send a request promising 100 MB of body but only ``first_bytes`` of it, and
    read the answer: it comes only if the server decided without the rest."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {UPLOAD_STEP} HTTP/1.1\r\nHost: test\r\n{head}"
                     f"Content-Length: 100000000\r\n\r\n".encode() + first_bytes)
        answer = b""
        while b"}" not in answer.partition(b"\r\n\r\n")[2]:  # the end of a JSON answer
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.parametrize("where", ["header", "form"])
def test_a_bad_token_is_refused_before_the_rest_of_the_form_is_read(open_server, where):
    form_type = "multipart/form-data; boundary=B0UNDARY"
    if where == "header":
        headers = {"Content-Type": form_type, "X-Upload-Token": "bogus"}
        first = b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + b"x" * 1000
    else:
        headers = {"Content-Type": form_type}
        first = (b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"upload_token\"\r\n\r\n"
                 b"bogus\r\n--B0UNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                 + b"x" * 1000)
    answer = _answer_before_the_body_ends(open_server.port, headers, first)
    assert answer.startswith(b"HTTP/1.1 404") and b"Unknown upload token" in answer, answer


def test_a_number_without_an_upper_bound_is_explained_plainly(client):
    response = client.get("/-/files/source/one", params={"page": "²"})
    assert response.status_code == 400
    assert "page&#39; must be a whole number, 1 or more" in response.text
    response = client.get("/-/files/search.json", params={"limit": "0"})
    api.assert_api_error(response, 400, "'limit' must be a whole number, from 1 to 500")
