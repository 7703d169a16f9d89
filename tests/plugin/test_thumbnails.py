"""Thumbnails: Pillow's, a plugin's, icons, the cache, and hostile input."""

import io
import os
import signal
import subprocess
import sqlite3
import time

import httpx
import pytest
from PIL import Image

from support import api
from support.images import image_bytes
from support.config import OPEN_PERMISSIONS
from support.server import DatasetteServer, source_config


@pytest.fixture(scope="module")
def server(testthumbs_site, tmp_path_factory):
    data = tmp_path_factory.mktemp("thumbs")
    server = DatasetteServer(data, {
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {
            "thumbnail_timeout_seconds": 3,
            "sources": {"pics": source_config(data / "pics")}}},
    }, env={"PYTHONPATH": str(testthumbs_site)}).start()
    yield server
    server.stop()


def thumbnail(client, file, size=None):
    params = {"size": size} if size else {}
    return client.get(file["thumbnail_url"], params=params)


def cached(server, file_id):
    conn = sqlite3.connect(server.internal_db)
    rows = conn.execute("SELECT generator, size, thumb IS NOT NULL, error FROM "
                        "datasette_files_thumbnails WHERE file_id = ?", [file_id]).fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("format,content_type", [
    ("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp"),
    ("BMP", "image/bmp"), ("TIFF", "image/tiff")])
def test_pillow_formats(server, format, content_type):
    with server.client() as client:
        file = api.upload(client, "pics", f"p.{format.lower()}", image_bytes(800, 600, format),
                          content_type)
        response = thumbnail(client, file)
        assert response.status_code == 200
        assert response.headers["content-type"] in ("image/jpeg", "image/png")
        assert Image.open(io.BytesIO(response.content)).size == (200, 150)
        large = thumbnail(client, file, size=400)
        assert Image.open(io.BytesIO(large.content)).size == (400, 300)


def test_generated_eagerly_after_upload(server):
    with server.client() as client:
        file = api.upload(client, "pics", "eager.png", image_bytes(300, 300), "image/png")
    for _ in range(100):
        if cached(server, file["id"]):
            break
        time.sleep(0.1)
    assert cached(server, file["id"]) == [("pillow", 200, 1, None)]


def test_exif_orientation_is_respected(server):
    with server.client() as client:
        file = api.upload(client, "pics", "rotated.jpg",
                          image_bytes(400, 200, "JPEG", orientation=6), "image/jpeg")
        size = Image.open(io.BytesIO(thumbnail(client, file).content)).size
    assert size == (100, 200)


def test_a_plugin_generator_for_a_non_image_type(server):
    with server.client() as client:
        file = api.upload(client, "pics", "notes.txt", b"hello preview", "text/x-preview")
        response = thumbnail(client, file)
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (200, 100)


@pytest.mark.parametrize("name,content_type,label", [
    ("report.pdf", "application/pdf", "PDF"), ("data.csv", "text/csv", "CSV"),
    ("noext", "application/octet-stream", "FILE")])
def test_icon_fallback(server, name, content_type, label):
    with server.client() as client:
        file = api.upload(client, "pics", name, b"x", content_type)
        response = thumbnail(client, file)
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert f">{label}</text>" in response.text
    assert "sandbox" in response.headers["content-security-policy"]


def test_uploaded_svg_is_never_served_as_its_own_thumbnail(server):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with server.client() as client:
        file = api.upload(client, "pics", "evil.svg", svg, "image/svg+xml")
        response = thumbnail(client, file)
        download = client.get(file["download_url"])
    assert b"<script>" not in response.content
    assert download.headers["content-disposition"].startswith("attachment")


def timed_get(url, **kwargs):
    started = time.perf_counter()
    response = httpx.get(url, timeout=30, **kwargs)
    return response, time.perf_counter() - started


@pytest.mark.parametrize("name,content,content_type,error", [
    # 30,000 x 30,000 pixels of one colour: a few KB on disk, 900 MB decoded.
    ("bomb.png", None, "image/png", "DecompressionBomb"),
    ("truncated.jpg", image_bytes(2000, 2000, "JPEG")[:3000], "image/jpeg", "Error"),
    ("spin.bin", b"x", "application/x-spin", "took longer than 3s"),
    ("hog.bin", b"x", "application/x-hog", "ran out of memory"),
])
def test_hostile_input_cannot_hang_or_sink_the_server(server, name, content, content_type, error):
    if content is None:
        content = image_bytes(30_000, 30_000, "PNG", mode="1")
    with server.client() as client:
        file = api.upload(client, "pics", name, content, content_type)
        other = api.upload(client, "pics", "other.bin", b"o" * 100_000)
    # While the generator struggles (the upload queued it), the server answers.
    for _ in range(5):
        response, seconds = timed_get(server.url + other["download_url"])
        assert response.status_code == 200 and seconds < 1.0, seconds
    with server.client() as client:
        response = thumbnail(client, file)
    assert response.headers["content-type"].startswith("image/svg+xml")
    rows = cached(server, file["id"])
    assert rows and all(thumb == 0 for _, _, thumb, _ in rows)
    assert any(error in (message or "") for _, _, _, message in rows), rows
    # The failure is recorded: the next request answers at once.
    started = time.perf_counter()
    with server.client() as client:
        thumbnail(client, file)
    assert time.perf_counter() - started < 1.0


def thumbnail_workers(server) -> list[int]:
    """The worker processes: children of the server's fork server."""
    def children(pid):
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        return [int(child) for child in found.stdout.split()]

    def cmdline(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as fp:
            return fp.read()

    forkservers = [pid for pid in children(server.process.pid) if b"forkserver" in cmdline(pid)]
    return [worker for pid in forkservers for worker in children(pid)]


def test_a_worker_stopped_by_a_signal_is_not_a_failure_of_the_file(server):
    # A shutdown stops the workers (SIGTERM): that says nothing about the
    # file, so nothing is recorded against it, and the next request tries again.
    signal_name = "SIGTERM"
    with server.client() as client:
        file = api.upload(client, "pics", f"stopped-{signal_name}.bin", b"x",
                          "application/x-spin")
        deadline = time.monotonic() + 10
        while not (workers := thumbnail_workers(server)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers
        time.sleep(1)  # past the worker's start-up, into the generator
        for worker in workers:
            os.kill(worker, getattr(signal, signal_name))
        # Waits for the job the upload queued, then tries again itself (the
        # generator spins until the 3 s timeout: that failure is the file's).
        assert thumbnail(client, file).headers["content-type"].startswith("image/svg+xml")
    errors = [error or "" for _, _, _, error in cached(server, file["id"])]
    assert not any("died" in error or "Interrupt" in error for error in errors), errors
    assert any("took longer than 3s" in error for error in errors), errors
    assert "Traceback" not in server.log()
