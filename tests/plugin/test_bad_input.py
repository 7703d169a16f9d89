"""Bad input gets a precise JSON 4xx, never a 500 or an HTML page, and changes nothing."""

import os

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
    api.assert_api_error(response, 404, "File not found")


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
    assert client.get(f"/-/files/{a_file['id']}.json").json()["file"]["search_text"] == ""


@pytest.mark.parametrize(
    "params,fragment",
    [
        ({"limit": "0"}, "'limit' must be"),
        ({"limit": "abc"}, "'limit' must be"),
        ({"limit": "100000"}, "'limit' must be"),
        ({"next": "garbage"}, "Invalid cursor"),
        ({"sort": "sideways"}, "'sort' must be"),
    ],
)
def test_search_rejects(client, params, fragment):
    api.assert_api_error(client.get("/-/files/search.json", params=params), 400, fragment)


def test_batch_limits_ids(client):
    params = [("id", f"df-{i:026d}") for i in range(1001)]
    api.assert_api_error(client.get("/-/files/batch.json", params=params), 400, "At most 1000")


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
