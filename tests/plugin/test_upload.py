"""The three-step upload over HTTP, and what it refuses."""

import asyncio
import hashlib
import os
import shutil
import socket
import time

import httpx

import pytest

from support.config import ALICE, BOB, OPEN_PERMISSIONS
from support import api
from support.images import image_bytes
from support.server import DatasetteServer, source_config

from datasette_files.uploads import SMALL_FILE_BYTES


def stored_files(root):
    """Files under a source root, apart from the temporary directory."""
    return sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, dirs, files in os.walk(root)
        for f in files
        if ".datasette-files-tmp" not in d
    )


def temp_files(root):
    return os.listdir(root / ".datasette-files-tmp")


def test_three_steps_register_the_file(open_server):
    with open_server.client() as client:
        prepared = api.prepare(client, "one", "photo.jpg", 5, "image/jpeg").json()
        assert prepared["ok"] is True
        assert prepared["upload_token"].startswith("tok_")
        assert prepared["upload_url"] == "/-/files/upload/one/-/upload"
        assert prepared["upload_method"] == "POST"
        assert prepared["upload_headers"] == {}
        assert prepared["upload_fields"] == {"upload_token": prepared["upload_token"]}
        token = prepared["upload_token"]
        assert api.send_multipart(client, "one", token, b"12345").json()["size"] == 5
        completed = api.complete(client, "one", token)
        # 201 Created, as the published datasette-files answers: clients check for it.
        assert completed.status_code == 201
        file = completed.json()["file"]
    assert file["id"].startswith("df-") and len(file["id"]) == 29
    assert file["filename"] == "photo.jpg"
    assert file["content_type"] == "image/jpeg"
    assert file["size"] == 5
    assert file["content_hash"] == (
        "sha256:5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"
    )
    assert file["source_slug"] == "one"
    assert file["uploaded_by"] is None
    assert file["url"] == f"/-/files/{file['id']}"
    assert file["download_url"] == f"/-/files/{file['id']}/download"
    assert file["thumbnail_url"] == f"/-/files/{file['id']}/thumbnail"
    assert len(file["created_at"]) == 19


def test_raw_body_with_token_in_header_or_query(open_server):
    with open_server.client() as client:
        file = api.upload(client, "one", "raw.bin", b"raw bytes", raw=True)
        assert client.get(file["download_url"]).content == b"raw bytes"
        token = api.prepare(client, "one", "q.bin", 3).json()["upload_token"]
        sent = client.post(f"/-/files/upload/one/-/upload?upload_token={token}", content=b"abc")
        assert sent.status_code == 200
        assert api.complete(client, "one", token).status_code == 201


def test_uploader_is_recorded(open_server):
    with open_server.client(ALICE) as client:
        file = api.upload(client, "one", "mine.txt", b"mine")
    assert file["uploaded_by"] == "alice"


def test_unknown_size_is_limited_by_max_file_size_while_streaming(open_server):
    root = open_server.data_dir / "two"
    before = stored_files(root)
    with open_server.client() as client:
        token = api.prepare(client, "two", "big.bin", None).json()["upload_token"]
        response = api.send_raw(client, "two", token, b"x" * 5000)
        api.assert_api_error(response, 413, "max_file_size", "1000 bytes")
        api.assert_api_error(api.complete(client, "two", token), 400, "No file has been uploaded")
    assert stored_files(root) == before
    assert temp_files(root) == []


def test_more_bytes_than_declared_is_413_and_leaves_nothing(open_server):
    root = open_server.data_dir / "one"
    before = stored_files(root)
    with open_server.client() as client:
        token = api.prepare(client, "one", "liar.bin", 10).json()["upload_token"]
        response = api.send_multipart(client, "one", token, b"y" * 11)
        api.assert_api_error(response, 413, "declared in prepare", "10 bytes", "leave out")
        # The token is still good for a correct retry.
        assert api.send_multipart(client, "one", token, b"y" * 10).status_code == 200
        assert api.complete(client, "one", token).status_code == 201
    assert len(stored_files(root)) == len(before) + 1
    assert temp_files(root) == []


def test_fewer_bytes_than_declared_is_400(open_server):
    root = open_server.data_dir / "one"
    before = stored_files(root)
    with open_server.client() as client:
        token = api.prepare(client, "one", "short.bin", 10).json()["upload_token"]
        response = api.send_raw(client, "one", token, b"z" * 4)
        api.assert_api_error(response, 400, "Received 4 bytes", "declared 10", "leave out")
    assert stored_files(root) == before


def test_prepare_refuses_more_than_max_file_size(open_server):
    with open_server.client() as client:
        response = api.prepare(client, "two", "big.bin", 1001)
    api.assert_api_error(response, 413, "at most 1000 bytes")


def test_prepare_refuses_more_than_the_free_space(make_server, tmp_path):
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {
            "huge": source_config(tmp_path / "huge", max_file_size=2**62)}}},
    })
    with server.client() as client:
        response = api.prepare(client, "huge", "planet.bin", 2**61)
    body = api.assert_api_error(response, 507, "2097152.0 TiB but source 'huge' has only")
    assert body["size"] == 2**61 and body["free_bytes"] < 2**61


def test_token_is_spent_by_complete(open_server):
    with open_server.client() as client:
        token = api.prepare(client, "one", "once.txt", 4).json()["upload_token"]
        api.send_multipart(client, "one", token, b"once")
        assert api.complete(client, "one", token).status_code == 201
        api.assert_api_error(api.complete(client, "one", token), 409, "already been used")
        api.assert_api_error(api.send_raw(client, "one", token, b"once"), 409, "already been used")


def test_token_works_only_for_its_source(open_server):
    with open_server.client() as client:
        token = api.prepare(client, "one", "a.txt", 1).json()["upload_token"]
        api.assert_api_error(api.send_raw(client, "two", token, b"a"), 400, "belongs to source 'one'")
        api.send_raw(client, "one", token, b"a")
        api.assert_api_error(api.complete(client, "two", token), 400, "belongs to source 'one'")


def test_token_works_only_for_its_actor(open_server):
    with open_server.client(ALICE) as alice, open_server.client(BOB) as bob, \
            open_server.client() as anonymous:
        token = api.prepare(alice, "one", "a.txt", 1).json()["upload_token"]
        api.assert_api_error(api.send_raw(bob, "one", token, b"a"), 403, "different user")
        api.assert_api_error(api.send_raw(anonymous, "one", token, b"a"), 403, "different user")
        assert api.send_raw(alice, "one", token, b"a").status_code == 200
        api.assert_api_error(api.complete(bob, "one", token), 403, "different user")
        assert api.complete(alice, "one", token).status_code == 201


def test_unknown_token(open_server):
    with open_server.client() as client:
        api.assert_api_error(api.send_raw(client, "one", "tok_nope", b"a"), 404, "Unknown upload token")
        api.assert_api_error(api.complete(client, "one", "tok_nope"), 404, "Unknown upload token")
        api.assert_api_error(
            client.post("/-/files/upload/one/-/complete", json={}), 400, "'upload_token' is required"
        )


def test_tokens_expire(make_server, tmp_path):
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {
            "upload_expiry_seconds": 1,
            "sources": {"s": source_config(tmp_path / "s")}}},
    })
    with server.client() as client:
        token = api.prepare(client, "s", "late.txt", 4).json()["upload_token"]
        time.sleep(2.1)
        api.assert_api_error(api.send_raw(client, "s", token, b"late"), 410, "expired")


def test_a_dropped_connection_registers_nothing_and_the_token_can_retry(open_server):
    root = open_server.data_dir / "one"
    before = stored_files(root)
    with open_server.client() as client:
        token = api.prepare(client, "one", "dropped.bin", 1_000_000).json()["upload_token"]
    # Half a body, then the client goes away.
    with api.partial_upload(open_server.port, "one", token, 1_000_000, 500_000):
        pass
    for _ in range(50):
        if not temp_files(root):
            break
        time.sleep(0.1)
    assert temp_files(root) == []
    assert stored_files(root) == before
    with open_server.client() as client:
        api.assert_api_error(api.complete(client, "one", token), 400, "No file has been uploaded")
        assert api.send_raw(client, "one", token, b"h" * 1_000_000).status_code == 200
        assert api.complete(client, "one", token).status_code == 201


@pytest.mark.parametrize(
    "content,content_type,expected",
    [
        (image_bytes(40, 30), "image/png", (40, 30)),
        # EXIF orientation 6 means "rotate 90 degrees": displayed 30 wide, 40 high.
        (image_bytes(40, 30, "JPEG", orientation=6), "image/jpeg", (30, 40)),
        (b"not an image", "image/png", (None, None)),
        (b"plain", "text/plain", (None, None)),
    ],
)
def test_image_dimensions_are_recorded(open_server, content, content_type, expected):
    with open_server.client() as client:
        file = api.upload(client, "one", "picture", content, content_type)
    assert (file["width"], file["height"]) == expected


def test_content_type_is_guessed_from_the_name_when_not_given(open_server):
    with open_server.client() as client:
        assert api.upload(client, "one", "table.csv", b"a,b\n")["content_type"] == "text/csv"
        assert api.upload(client, "one", "mystery", b"?")["content_type"] == (
            "application/octet-stream"
        )


def test_a_full_disk_answers_507_and_leaves_nothing(make_server, tiny_disk):
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {"tiny": source_config(tiny_disk)}}},
    })
    with server.client() as client:
        # No declared size, so prepare cannot refuse it: the disk fills mid-write.
        token = api.prepare(client, "tiny", "too-big.bin", None).json()["upload_token"]
        response = api.send_raw(client, "tiny", token, b"f" * (3 * 1024 * 1024))
        api.assert_api_error(response, 507, "not enough free space")
        assert stored_files(tiny_disk) == [] and temp_files(tiny_disk) == []
        # Prepare refuses outright when the declared size cannot fit.
        api.assert_api_error(api.prepare(client, "tiny", "big.bin", 3 * 1024 * 1024), 507)
        # The disk is usable again afterwards.
        file = api.upload(client, "tiny", "fits.bin", b"ok")
        assert client.get(file["download_url"]).content == b"ok"


def test_one_request_put_stores_and_registers(open_server):
    """PUT /-/files/upload/{source}/{filename}, as `curl -T` sends it."""
    content = os.urandom(50_000)
    with open_server.client() as client:
        response = client.put("/-/files/upload/one/quarterly%20report.pdf", content=content)
        assert response.status_code == 201, response.text
        file = response.json()["file"]
        assert (file["filename"], file["content_type"], file["size"]) == (
            "quarterly report.pdf", "application/pdf", 50_000)
        assert client.get(file["download_url"]).content == content
        found = client.get("/-/files/search.json", params={"q": "quarterly"}).json()["files"]
        assert file["id"] in [f["id"] for f in found]
        typed = client.put("/-/files/upload/one/notes", content=b"# hi",
                           headers={"Content-Type": "text/markdown; charset=utf-8"})
        assert typed.json()["file"]["content_type"] == "text/markdown"


@pytest.mark.parametrize("size", [0, 1, 4096, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024])
def test_one_request_put_stores_exactly_the_bytes_sent(open_server, size):
    # Small files are written by the registry's writer, larger ones streamed.
    content = os.urandom(size)
    with open_server.client() as client:
        response = client.put(f"/-/files/upload/one/f{size}.bin", content=content)
        assert response.status_code == 201, response.text
        file = response.json()["file"]
        assert file["size"] == size
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert client.get(file["download_url"]).content == content
    assert temp_files(open_server.data_dir / "one") == []


@pytest.mark.parametrize("declared", [100_000, 3_000_000])
def test_a_put_cut_off_midway_stores_and_registers_nothing(open_server, declared):
    root = open_server.data_dir / "one"
    before = stored_files(root)
    with socket.create_connection(("127.0.0.1", open_server.port)) as sock:
        sock.sendall(f"PUT /-/files/upload/one/cut-{declared}.bin HTTP/1.1\r\nHost: test\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + b"c" * (declared // 2))
        time.sleep(0.3)
    for _ in range(50):
        if not temp_files(root):
            break
        time.sleep(0.1)
    assert temp_files(root) == [] and stored_files(root) == before
    with open_server.client() as client:
        found = client.get("/-/files/search.json", params={"q": "cut"}).json()
    assert found["total"] == 0


def test_one_request_put_records_image_dimensions(open_server):
    with open_server.client() as client:
        response = client.put("/-/files/upload/one/wide.png", content=image_bytes(40, 30))
        assert (response.json()["file"]["width"], response.json()["file"]["height"]) == (40, 30)


def test_small_puts_that_fill_the_disk_together(make_server, tiny_disk):
    """Two small PUTs that each fit the free space but not both: one is stored,
    the other answers 507 and leaves nothing behind."""
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {"tiny": source_config(tiny_disk)}}},
    })
    with server.client() as client:
        assert client.put("/-/files/upload/tiny/filler.bin",
                          content=b"f" * (1800 * 1024)).status_code == 201
    size = shutil.disk_usage(tiny_disk).free * 3 // 4
    assert size <= SMALL_FILE_BYTES  # both go the small-file way

    async def both():
        async with httpx.AsyncClient(base_url=server.url) as client:
            return await asyncio.gather(*[
                client.put(f"/-/files/upload/tiny/{name}.bin", content=name.encode() * size)
                for name in ("a", "b")])

    responses = asyncio.run(both())
    assert sorted(r.status_code for r in responses) == [201, 507], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 507)
    # Refused while writing, or (had the other been stored first) before.
    message = api.assert_api_error(refused, 507)["errors"][0]
    assert "not enough free space" in message or (
        refused.json()["size"] == size and "but source 'tiny' has only" in message), message
    stored = next(r for r in responses if r.status_code == 201).json()["file"]
    assert len(stored_files(tiny_disk)) == 2 and temp_files(tiny_disk) == []
    with server.client() as client:
        assert client.get(stored["download_url"]).content == stored["filename"][0].encode() * size
        names = [f["filename"] for f in client.get("/-/files/search.json").json()["files"]]
    assert sorted(names) == sorted(["filler.bin", stored["filename"]])


def test_one_request_put_keeps_the_routers_safeguards(open_server):
    """PUT is answered ahead of Datasette's router: cross-site requests are still
    refused, a bad token still answers 401, and answers stay private."""
    with open_server.client(ALICE) as alice:
        cross_site = alice.put("/-/files/upload/one/csrf.txt", content=b"x",
                               headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403, cross_site.text
        other_origin = alice.put("/-/files/upload/one/csrf.txt", content=b"x",
                                 headers={"Origin": "https://evil.example"})
        assert other_origin.status_code == 403, other_origin.text
        assert alice.get("/-/files/search.json", params={"q": "csrf"}).json()["total"] == 0
        same_site = alice.put("/-/files/upload/one/mine.txt", content=b"x",
                              headers={"Sec-Fetch-Site": "same-origin"})
        assert same_site.status_code == 201, same_site.text
        assert same_site.json()["file"]["uploaded_by"] == "alice"
        assert same_site.headers["cache-control"] == "private, no-store"
        assert "Cookie" in same_site.headers["vary"]
    with open_server.client(headers={"Authorization": "Bearer dstok_not-a-real-token"}) as bad:
        response = bad.put("/-/files/upload/one/token.txt", content=b"x")
        api.assert_api_error(response, 401)
        assert "invalid_token" in response.headers["www-authenticate"]


HEADER_AUTH_PLUGIN = """
from datasette import hookimpl

@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_actor(scope, receive, send):
            user = dict(scope.get("headers") or []).get(b"x-test-user")
            if scope["type"] == "http" and user:
                scope = dict(scope, actor={"id": user.decode()})
            await app(scope, receive, send)
        return with_actor
    return wrap
"""


def test_one_request_put_sees_actors_set_by_other_plugins_asgi_wrappers(tmp_path):
    """An authentication plugin built as ASGI middleware (it sets scope["actor"])
    still wraps the PUT fast path."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "header_auth.py").write_text(HEADER_AUTH_PLUGIN)
    config = {"permissions": {"files-browse": True, "files-upload": {"id": "alice"}},
              "plugins": {"datasette-files": {"sources": {
                  "one": source_config(tmp_path / "one")}}}}
    server = DatasetteServer(tmp_path, config, ["--plugins-dir", str(plugins)]).start()
    try:
        with server.client(headers={"X-Test-User": "alice"}) as alice, server.client() as anyone:
            response = alice.put("/-/files/upload/one/hers.txt", content=b"x")
            assert response.status_code == 201, response.text
            assert response.json()["file"]["uploaded_by"] == "alice"
            api.assert_api_error(anyone.put("/-/files/upload/one/x.txt", content=b"x"), 403)
    finally:
        server.stop()


def test_one_request_put_refusals(open_server):
    with open_server.client() as client:
        api.assert_api_error(client.put("/-/files/upload/two/big.bin", content=b"x" * 2000),
                             413, "1000")
        api.assert_api_error(client.put("/-/files/upload/nope/a.txt", content=b"x"), 404)
        api.assert_api_error(client.post("/-/files/upload/one/a.txt", content=b"x"), 405)
        api.assert_api_error(client.put("/-/files/upload/one/%2E%2E", content=b"x"), 400,
                             "no usable name")
