"""Third-party plugins written against the spec: installed separately, loaded through
their own entry point, and working unchanged."""

import hashlib
import io
import json
import subprocess
import sys
import time

import pytest
from PIL import Image

from support.config import MEMSTORE, OPEN_PERMISSIONS
from support import api



@pytest.fixture(scope="module")
def server(memstore_site, tmp_path_factory):
    from support.server import DatasetteServer

    config = {
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {
            "bucket": {"storage": "memory-bucket", "config": {
                "bucket": "photos", "prefix": "uploads/",
                "secret_name": "MEMSTORE_KEY", "expected_secret": "s3cret"}},
            "proxied": {"storage": "memory-proxied", "config": {"bucket": "docs", "seed": {
                "minutes/2026-11.txt": "Met; agreed.", "readme.txt": "Hello", ".hidden": "x"}}},
        }}},
    }
    server = DatasetteServer(
        tmp_path_factory.mktemp("third-party"), config,
        env={"PYTHONPATH": str(memstore_site), "DATASETTE_SECRETS_MEMSTORE_KEY": "s3cret"},
    ).start()
    yield server
    server.stop()


def test_both_styles_load_with_their_capabilities(server):
    with server.client() as client:
        sources = {s["slug"]: s for s in client.get("/-/files/sources.json").json()["sources"]}
    assert sources["bucket"]["storage_type"] == "memory-bucket"
    assert sources["bucket"]["capabilities"]["can_generate_signed_urls"] is True
    assert sources["bucket"]["capabilities"]["requires_proxy_download"] is False
    assert sources["proxied"]["storage_type"] == "memory-proxied"
    assert sources["proxied"]["capabilities"]["requires_proxy_download"] is True


def test_proxied_downloads_use_the_default_stream_file(server):
    content = bytes(range(256)) * 100
    with server.client() as client:
        file = api.upload(client, "proxied", "doc.bin", content)
        assert client.get(file["download_url"]).content == content
        ranged = client.get(file["download_url"], headers={"Range": "bytes=1000-1999"})
        assert ranged.status_code == 206 and ranged.content == content[1000:2000]
        assert client.post(f"/-/files/{file['id']}/-/delete", json={}).status_code == 200
        assert client.get(file["download_url"]).status_code == 404


def test_image_dimensions_use_the_default_read_bytes(server):
    buffer = io.BytesIO()
    Image.new("RGB", (7, 5)).save(buffer, "PNG")
    with server.client() as client:
        file = api.upload(client, "proxied", "tiny.png", buffer.getvalue(), "image/png")
    assert (file["width"], file["height"]) == (7, 5)


def test_a_listing_storage_is_synced_through_list_files(server):
    """Objects already in a plugin's storage get registered by the sync at start,
    found through `list_files` pages, and hashed through the default stream_file."""
    with server.client() as client:
        for _ in range(100):
            status = client.get("/-/files/sync/proxied.json").json()
            if status["sync"]["state"] == "done" and not status["hashing_pending"]:
                break
            time.sleep(0.1)
        assert status["sync"]["added"] == 2 and status["sync"]["skipped"] == 1, status
        found = client.get("/-/files/search.json",
                           params={"source": "proxied", "folder": "minutes"}).json()
        [minutes] = found["files"]
        assert (minutes["filename"], minutes["folder"]) == ("2026-11.txt", "minutes")
        assert client.get(minutes["download_url"]).content == b"Met; agreed."
        digest = hashlib.sha256(b"Met; agreed.").hexdigest()
        file = client.get(f"/-/files/{minutes['id']}.json").json()
        assert file["content_hash"] == f"sha256:{digest}"


def test_signed_url_backends_redirect(server):
    with server.client() as client:
        file = api.upload(client, "bucket", "photo.jpg", b"jpeg bytes", "image/jpeg")
        response = client.get(file["download_url"])
    assert response.status_code == 302
    assert response.headers["location"] == (
        f"https://photos.bucket.invalid/uploads/{file['id']}-photo.jpg?expires=300")


def test_signed_url_backends_stream_inline_bytes_through_the_server(server):
    """A signed URL would come with the storage's headers (an attachment, no
    sandbox): the inline routes stream the bytes themselves, ranges included."""
    content = b"RIFF....WAVEfmt " + bytes(range(256)) * 4
    with server.client() as client:
        file = api.upload(client, "bucket", "tone.wav", content, "audio/wav")
        response = client.get(f"/-/files/{file['id']}/-/media")
        ranged = client.get(f"/-/files/{file['id']}/-/media", headers={"Range": "bytes=16-31"})
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert ranged.status_code == 206 and ranged.content == content[16:32]


def test_a_plugin_requiring_datasette_files_installs_beside_ours(tmp_path):
    """pip resolves the plugin's `datasette-files` requirement to our distribution
    and plans to install nothing else, so the upstream can never replace ours."""
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--no-build-isolation",
         "--report", str(report), str(MEMSTORE)],
        check=True,
    )
    planned = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert planned == ["datasette-files-memstore"]
    requires = json.loads(report.read_text())["install"][0]["metadata"]["requires_dist"]
    assert requires == ["datasette-files"]
    from importlib.metadata import version

    assert version("datasette-files") == "0.2.0"


def test_chunks_need_a_storage_that_takes_them(server):
    with server.client() as client:
        token = api.prepare(client, "proxied", "a.bin", 10).json()["upload_token"]
        api.assert_api_error(api.send_chunk(client, "proxied", token, b"x" * 5, 0, 10), 400,
                             "does not take uploads in chunks")
        assert api.send_raw(client, "proxied", token, b"x" * 10).status_code == 200
