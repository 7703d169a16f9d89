"""The published datasette-files-s3 plugin, installed from the package index beside
ours, over a real S3-compatible server (moto's server mode, a subprocess on loopback).

datasette-files-s3 stores uploads through the spec's ``receive_upload`` (our server
receives the bytes and puts the object) and answers downloads with a presigned URL
(``can_generate_signed_urls``, no ``requires_proxy_download``), which our download
redirects to. Everything else (hashing, dimensions, thumbnails, sync) reads the
object through the spec's methods.

Served bare by ``datasette serve``, as the other tests here, but from a virtualenv of
its own (bench/.peers/datasette-files-s3): its entry point would load into every
server the other tests start. That virtualenv has our plugin installed editable from
this checkout, so it always runs this checkout's code, and is reinstalled when the
requirements or our plugin's pyproject.toml change. Installing it costs about a
minute; CI sets REQUIRE_PYPI=1 so that a failed install fails these tests.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import subprocess

import httpx
import pytest
from PIL import Image

from support import api
from support.config import ALICE, BOB
from support.s3 import CREDENTIALS, MotoServer
from support.server import DatasetteServer, assert_no_server_errors
from support.slow import wait_until
from support.venvs import (OUR_PLUGIN, ensure_venv, our_plugin_inputs, required,
                           unpacked_sdist, with_our_plugin)

S3_PLUGIN = "datasette-files-s3==0.1a2"
# This checkout's version, installed editable in the test's venv too.
OUR_VERSION = importlib.metadata.version("datasette-files")
REQUIREMENTS = [
    "datasette==1.0a41",
    S3_PLUGIN,
    # The plugin's own requirement, pinned to a release whose botocore moto's agrees
    # with: unpinned, pip backtracks through botocore releases for minutes.
    "aioboto3==15.5.0",
    "moto[server]==5.2.4",
    # What the plugin's own test suite needs (test_its_own_test_suite_passes).
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",
    "aiomoto[s3]==0.5.8",
]
VENV = "datasette-files-s3"
pytestmark = pytest.mark.needs_venv(VENV, with_our_plugin(REQUIREMENTS), our_plugin_inputs())
BUCKET = "team-media"
PREFIX = "uploads/"
ACTIONS = ("files-browse", "files-upload", "files-edit", "files-delete",
           "files-manage-sources")


@pytest.fixture(scope="module")
def venv_bin():
    return required(lambda: ensure_venv(VENV, with_our_plugin(REQUIREMENTS),
                                        our_plugin_inputs()))


@pytest.fixture(scope="module")
def moto(venv_bin, tmp_path_factory):
    server = MotoServer(venv_bin, tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket(moto):
    return moto.bucket(BUCKET).create()


@pytest.fixture(scope="module")
def server(venv_bin, moto, bucket, tmp_path_factory):
    """Alice may do everything on the S3 source; nobody else may do anything."""
    config = {
        "permissions": {action: {"id": ALICE["id"]} for action in ACTIONS},
        "plugins": {"datasette-files": {"sources": {"media": {"storage": "s3", "config": {
            "bucket": BUCKET, "prefix": PREFIX, "endpoint_url": moto.url, **CREDENTIALS}}}}},
    }
    server = DatasetteServer(tmp_path_factory.mktemp("s3-plugin"), config,
                             datasette=str(venv_bin / "datasette")).start()
    yield server
    server.stop()
    assert_no_server_errors(server)


def png(width: int, height: int, colour: tuple) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_it_installs_beside_our_distribution_not_the_upstream(venv_bin, server):
    """Its `datasette-files>=0.1a2` requirement is met by ours: pip pulled no other."""
    probe = ("import datasette_files, importlib.metadata as m; "
             "print(datasette_files.__file__); print(m.version('datasette-files'))")
    where, version = subprocess.run([str(venv_bin / "python"), "-c", probe], check=True,
                                    capture_output=True, text=True).stdout.split()
    assert where == str(OUR_PLUGIN / "datasette_files" / "__init__.py")
    assert version == OUR_VERSION
    with server.client(ALICE) as client:
        plugins = {p["name"]: p["version"] for p in client.get("/-/plugins.json").json()}
        [source] = client.get("/-/files/sources.json").json()["sources"]
    assert plugins["datasette-files-s3"] == S3_PLUGIN.split("==")[1]
    assert plugins["datasette-files"] == OUR_VERSION
    assert source["storage_type"] == "s3" and source["healthy"] is True
    assert source["capabilities"]["can_generate_signed_urls"] is True
    assert source["capabilities"]["requires_proxy_download"] is False


def test_upload_download_search_thumbnail_and_delete(server, bucket):
    content = png(60, 40, (200, 20, 20))
    with server.client(ALICE) as client:
        prepared = api.prepare(client, "media", "red square.png", len(content), "image/png")
        assert prepared.status_code == 200, prepared.text
        token = prepared.json()["upload_token"]
        sent = api.send_multipart(client, "media", token, content, "red square.png")
        assert sent.status_code == 200, sent.text
        completed = api.complete(client, "media", token)
        assert completed.status_code == 201, completed.text
        file = completed.json()["file"]
        assert (file["filename"], file["size"], file["uploaded_by"]) == (
            "red square.png", len(content), "alice")
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert (file["width"], file["height"]) == (60, 40)

        # The object is in the bucket, under the source's prefix.
        [key] = [k for k in bucket.keys() if file["id"] in k]
        assert key.startswith(PREFIX) and bucket.get(key) == content

        # The download is a redirect to a presigned URL on the S3 server.
        redirect = client.get(file["download_url"])
        assert redirect.status_code == 302, redirect.text
        location = redirect.headers["location"]
        assert location.startswith(f"{bucket.endpoint}/{BUCKET}/{key}?")
        assert "Signature=" in location or "X-Amz-Signature=" in location
        assert httpx.get(location).content == content

        found = client.get("/-/files/search.json", params={"q": "red square"}).json()
        assert [f["id"] for f in found["files"]] == [file["id"]]
        by_id = client.get("/-/files/search.json", params={"q": file["id"]}).json()
        assert [f["id"] for f in by_id["files"]] == [file["id"]]

        meta = client.get(f"/-/files/{file['id']}.json")
        assert meta.status_code == 200 and meta.json()["id"] == file["id"]
        assert meta.json()["content_hash"] == file["content_hash"]

        # The thumbnail is drawn from the object's bytes: the square's red.
        thumbnail = client.get(file["thumbnail_url"])
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] in ("image/jpeg", "image/png", "image/webp")
        red, green, blue = Image.open(io.BytesIO(thumbnail.content)).convert("RGB").getpixel((5, 5))
        assert red > 150 and green < 80 and blue < 80
        assert client.get(f"/-/files/{file['id']}").status_code == 200  # its page

        deleted = client.post(f"/-/files/{file['id']}/-/delete", json={})
        assert deleted.status_code == 200, deleted.text
        # In the trash: the object stays until the trash is purged.
        assert key in bucket.keys()
        assert client.post(deleted.json()["trash"]["purge_url"], json={}).status_code == 200
        assert key not in bucket.keys()
        assert client.get(f"/-/files/{file['id']}.json").status_code == 404
        assert client.get(file["download_url"]).status_code == 404
        assert client.get("/-/files/search.json", params={"q": "red square"}).json()[
            "files"] == []


def test_one_request_and_raw_body_uploads(server, bucket):
    with server.client(ALICE) as client:
        put = client.put("/-/files/upload/media/notes.txt", content=b"minutes of the meeting\n")
        assert put.status_code == 201, put.text
        notes = put.json()["file"]
        raw = api.upload(client, "media", "table.csv", b"a,b\n1,2\n", "text/csv", raw=True)
        for file, content in ((notes, b"minutes of the meeting\n"), (raw, b"a,b\n1,2\n")):
            [key] = [k for k in bucket.keys() if file["id"] in k]
            assert bucket.get(key) == content
            assert httpx.get(client.get(file["download_url"]).headers["location"]).content \
                == content
            # No generator draws text: the file-type icon.
            icon = client.get(file["thumbnail_url"])
            assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
            assert client.post(f"/-/files/{file['id']}/-/delete", json={}).status_code == 200


def test_a_refused_upload_leaves_no_object(server, bucket):
    """Bytes that do not match the declared size: the object the plugin put is removed."""
    keys = bucket.keys()
    with server.client(ALICE) as client:
        for content, status in ((b"x" * 50, 400), (b"x" * 150, 413)):
            token = api.prepare(client, "media", "sized.bin", 100).json()["upload_token"]
            api.assert_api_error(api.send_multipart(client, "media", token, content), status)
    assert bucket.keys() == keys


def test_others_see_nothing_and_get_no_signed_url(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "media", "private.txt", b"for alice")
    for actor in (None, BOB):
        with server.client(actor) as client:
            assert client.get(file["download_url"]).status_code in (403, 404)
            assert client.get(f"/-/files/{file['id']}.json").status_code in (403, 404)
            assert api.prepare(client, "media", "x.txt", 1).status_code in (403, 404)
    with server.client(ALICE) as alice:
        assert alice.post(f"/-/files/{file['id']}/-/delete", json={}).status_code == 200


def sync(client: httpx.Client, **params) -> dict:
    """A sync of the S3 source, once the one at start-up is over; its outcome."""
    def status() -> dict:
        return client.get("/-/files/sync/media.json").json()

    wait_until(lambda: not status()["running"], what="the start-up sync")
    started = client.post("/-/files/sync/media", params=params)
    assert started.status_code == 202, started.text
    wait_until(lambda: not status()["running"] and not status()["hashing_pending"],
               what="the sync and its hashing")
    outcome = status()["sync"]
    assert outcome["state"] == "done" and outcome["error"] is None, outcome
    return outcome


def test_sync_registers_objects_put_in_the_bucket_and_drops_removed_ones(server, bucket):
    """Through the plugin's list_files pages; hashed through its stream_file."""
    content = b"put straight into the bucket"
    bucket.put(f"{PREFIX}reports/2026/q1.txt", content)
    with server.client(ALICE) as client:
        assert sync(client)["added"] == 1
        [file] = client.get("/-/files/search.json", params={"folder": "reports/2026"}).json()[
            "files"]
        assert (file["filename"], file["size"]) == ("q1.txt", len(content))
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert httpx.get(client.get(file["download_url"]).headers["location"]).content \
            == content

        bucket.delete(f"{PREFIX}reports/2026/q1.txt")
        assert sync(client, confirm_removals="1")["removed"] == 1
        assert client.get(f"/-/files/{file['id']}.json").status_code == 404


def test_its_own_test_suite_passes(venv_bin):
    """The plugin's published tests (its sdist's), run in-process against ours with
    its own in-process S3 mock: among them its end-to-end upload, which checks the
    201 from complete and reads the file JSON unwrapped."""
    project = required(lambda: unpacked_sdist(VENV, S3_PLUGIN))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "AWS_"))}
    result = subprocess.run(
        [str(venv_bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
