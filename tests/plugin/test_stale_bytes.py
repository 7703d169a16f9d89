"""Bytes changed in storage behind the registry's back are never served short or
stale under the old validators; hashing outlives files it cannot read."""

import hashlib
import os
import time

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.pool import SourcePool

ORIGINAL = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("stale"), kinds=("one",))


@pytest.fixture(scope="module")
def server(pool):
    """One server for the module; each test has a source of its own (``src.one``)."""
    yield from pool.serve({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": pool.sources()}},
    })


def stored_path(root, file_id):
    """Where the bytes of ``file_id`` are on disk (its name starts with the id)."""
    [path] = [root / name for name in os.listdir(root) if name.startswith(file_id)]
    return path


def rewrite(path, content, mtime_step=5):
    """Write ``content`` at ``path`` with a modification time later than before."""
    before = path.stat().st_mtime_ns
    path.write_bytes(content)
    os.utime(path, ns=(before + mtime_step * 10**9, before + mtime_step * 10**9))


def file_json(client, file_id):
    response = client.get(f"/-/files/{file_id}.json")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_hash(client, file_id):
    for _ in range(200):
        file = file_json(client, file_id)
        if file["content_hash"]:
            return file
        time.sleep(0.05)
    raise AssertionError(file)


def sha256(content):
    return "sha256:" + hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("new", [b"short", ORIGINAL * 3], ids=["shorter", "longer"])
def test_a_file_resized_on_disk_is_served_whole_under_a_new_etag(server, src, new):
    with server.client() as client:
        file = api.upload(client, src.one, "data.bin", ORIGINAL)
        old = client.get(file["download_url"])
        assert old.content == ORIGINAL
        rewrite(stored_path(src.one_dir, file["id"]), new)

        head = client.head(file["download_url"])
        assert head.status_code == 200 and head.headers["content-length"] == str(len(new))
        again = client.get(file["download_url"], headers={"If-None-Match": old.headers["etag"]})
        assert again.status_code == 200 and again.content == new
        assert again.headers["content-length"] == str(len(new))
        assert again.headers["etag"] != old.headers["etag"]
        # A range asked for under the old version gets the new file, whole.
        ranged = client.get(file["download_url"], headers={
            "Range": "bytes=0-3", "If-Range": old.headers["etag"]})
        assert ranged.status_code == 200 and ranged.content == new

        registered = file_json(client, file["id"])
        assert registered["size"] == len(new)
        assert registered["content_hash"] in (None, sha256(new))
        hashed = wait_for_hash(client, file["id"])
        assert hashed["content_hash"] == sha256(new)
        assert hashed["content_hash_state"] == "hashed"
        assert client.get(file["download_url"]).headers["etag"] == f'"{sha256(new)[7:]}"'


def test_a_range_past_the_end_of_a_shortened_file_is_unsatisfiable(server, src):
    with server.client() as client:
        file = api.upload(client, src.one, "data.bin", ORIGINAL)
        rewrite(stored_path(src.one_dir, file["id"]), b"0123456789")
        response = client.get(file["download_url"], headers={"Range": "bytes=5000-5999"})
        assert response.status_code == 416
        assert response.headers["content-range"] == "bytes */10"
        assert client.get(file["download_url"], headers={"Range": "bytes=2-4"}).content == b"234"


def test_a_file_changed_on_disk_with_the_same_size_is_served_new(server, src):
    """Once the registry knows the file's modification time (from a download or
    a sync), a same-size edit shows: new bytes, new validators."""
    with server.client() as client:
        file = api.upload(client, src.one, "data.bin", ORIGINAL)
        old = client.get(file["download_url"])
        assert old.content == ORIGINAL
        new = bytes(reversed(ORIGINAL))
        rewrite(stored_path(src.one_dir, file["id"]), new)

        assert client.get(file["download_url"], headers={
            "If-None-Match": old.headers["etag"]}).status_code == 200
        assert client.get(file["download_url"], headers={
            "If-Modified-Since": old.headers["last-modified"]}).status_code == 200
        response = client.get(file["download_url"])
        assert response.content == new and response.headers["etag"] != old.headers["etag"]
        assert wait_for_hash(client, file["id"])["content_hash"] == sha256(new)


def test_an_unchanged_file_keeps_its_validators(server, src):
    with server.client() as client:
        file = api.upload(client, src.one, "data.bin", ORIGINAL)
        first = client.get(file["download_url"])
        second = client.get(file["download_url"], headers={"If-None-Match": first.headers["etag"]})
        assert second.status_code == 304
        assert second.headers["etag"] == first.headers["etag"] == f'"{file["content_hash"][7:]}"'
        assert file_json(client, file["id"])["content_hash_state"] == "hashed"


@pytest.fixture
def flaky(make_server, tmp_path, memstore_site):
    marker = tmp_path / "failing"
    marker.write_text("")
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {
            "hash_retry_seconds": 1,
            "sources": {"flaky": {"storage": "memory-flaky", "config": {
                "bucket": "flaky", "failing_marker": str(marker),
                "seed": {"broken-1.txt": "one", "fine.txt": "two", "broken-2.txt": "three"}}}},
        }},
    }, env={"PYTHONPATH": str(memstore_site)})
    return server, marker


def by_name(client):
    files = client.get("/-/files/search.json", params={"limit": 100}).json()["files"]
    return {file["filename"]: file for file in files}


def test_hashing_outlives_a_storage_error_and_retries_later(flaky):
    """A storage plugin raising its own error (not an OSError) for two files: the
    others are hashed; those two have a null hash, "failed", and are tried again
    later, backing off, until they can be read."""
    server, marker = flaky
    with server.client() as client:
        for _ in range(200):
            files = by_name(client)
            if len(files) == 3 and files["fine.txt"]["content_hash"] \
                    and files["broken-1.txt"]["content_hash_state"] == "failed":
                break
            time.sleep(0.05)
        assert files["fine.txt"]["content_hash"] == sha256(b"two")
        for name in ("broken-1.txt", "broken-2.txt"):
            assert files[name]["content_hash"] is None
            assert files[name]["content_hash_state"] == "failed"
        time.sleep(3)
        attempts = marker.read_text().splitlines()
        # Backing off from one second: a handful of tries in three seconds (each
        # tries the batch, then each file), not a spin.
        assert 4 <= len(attempts) <= 5 * 4, attempts
        marker.unlink()
        for _ in range(300):
            files = by_name(client)
            if all(file["content_hash"] for file in files.values()):
                break
            time.sleep(0.05)
    assert files["broken-1.txt"]["content_hash"] == sha256(b"one")
    assert files["broken-2.txt"]["content_hash"] == sha256(b"three")
    assert {file["content_hash_state"] for file in files.values()} == {"hashed"}
