"""A hostile client against direct uploads to a bucket (a real moto server and a
real Datasette server): what a client may do with the presigned requests it is
given, and what a bucket that stops answering does to the server's answers."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.s3 import needs_moto, s3_env, start_moto
from support.s3_direct import bucket_for, direct_source
from support.slow import wait_until

pytestmark = needs_moto()


@pytest.fixture
def moto(tmp_path):
    """A moto server of the test's own: some tests freeze it."""
    server = start_moto(tmp_path)
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


@pytest.fixture
def bucket(moto, request):
    return bucket_for(moto, request.node.nodeid)


@pytest.fixture
def make_s3_server(make_server, moto, bucket, tmp_path):
    def make(config: dict = None, settings: dict = None, **source_extra):
        """``config`` goes in the source's config, ``settings`` beside the sources."""
        source = direct_source(moto, bucket, **source_extra)
        source["config"].update(config or {})
        permissions = {**OPEN_PERMISSIONS, "files-manage-sources": True}
        return make_server({"permissions": permissions, "plugins": {"datasette-files": {
            "sources": {"bucket": source}, **(settings or {})}}},
            data_dir=tmp_path / "data", env=s3_env())
    return make


def post_form(answer: dict, content: bytes) -> httpx.Response:
    return httpx.post(answer["upload_url"], data=answer["upload_fields"],
                      files={"file": ("file.bin", content)}, timeout=60)


def test_a_frozen_bucket_answers_a_json_503_in_bounded_time(make_s3_server, moto):
    # A bucket that accepts connections and never answers (a hung service, a
    # black-holed network): the complete must not wait for botocore's defaults
    # (60 s per read, times its retries: 4 minutes measured).
    server = make_s3_server({"timeout_seconds": 2})
    with server.client() as client:
        answer = api.prepare(client, "bucket", "notes.txt", 5, "text/plain").json()
        assert answer["transfer"] == "direct"
        assert post_form(answer, b"hello").status_code < 300
        moto.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            refused = client.post("/-/files/upload/bucket/-/complete",
                                  json={"upload_token": answer["upload_token"]}, timeout=120)
            took = time.monotonic() - started
        finally:
            moto.process.send_signal(signal.SIGCONT)
        api.assert_api_error(refused, 503, "cannot be reached")
        assert took < 20, took
        # Nothing registered half-done: the same token completes once the bucket answers.
        completed = api.complete(client, "bucket", answer["upload_token"])
        assert completed.status_code == 201, completed.text
        assert completed.json()["file"]["size"] == 5


def test_a_presigned_post_reused_after_complete_does_not_change_the_file(make_s3_server,
                                                                        bucket):
    server = make_s3_server()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "report.txt", 10, "text/plain").json()
        assert post_form(answer, b"original!!").status_code < 300
        file = api.complete(client, "bucket", answer["upload_token"]).json()["file"]
        # The uploader has no edit permission needed for this: only the old form.
        assert post_form(answer, b"other one!").status_code < 300
        downloaded = client.get(file["download_url"], follow_redirects=True)
        assert downloaded.content == b"original!!"


def test_a_deleted_file_does_not_come_back_from_its_old_upload_form(make_s3_server, bucket):
    server = make_s3_server()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "secret.txt", 10, "text/plain").json()
        assert post_form(answer, b"original!!").status_code < 300
        file = api.complete(client, "bucket", answer["upload_token"]).json()["file"]
        assert client.post(f"/-/files/{file['id']}/-/delete").status_code == 200
        emptied = client.post("/-/files/trash/bucket/-/empty", json={})
        assert emptied.status_code == 200, emptied.text
        assert [key for key in bucket.keys() if file["id"] in key] == []
        assert post_form(answer, b"zombie!!!!").status_code < 300
        synced = client.post("/-/files/sync/bucket", json={})
        assert synced.status_code < 300, synced.text
        api.wait_for_sync(client, "bucket", hashed=False)
        assert client.get(f"/-/files/{file['id']}.json").status_code == 404


def test_a_presigned_post_landing_after_expiry_is_never_registered(make_s3_server, bucket):
    # Real S3 refuses a POST after its policy's expiry (no later than the token's);
    # moto does not, so this is the bucket's object, there after the token went. The
    # staging folder is the server's own: skipped even when sync takes hidden files.
    server = make_s3_server(settings={"upload_expiry_seconds": 2, "include_hidden": True,
                                      "temp_sweep_interval_seconds": 0.5})
    with server.client() as client:
        answer = api.prepare(client, "bucket", "late.txt", 10, "text/plain").json()
        time.sleep(4)  # expired, and swept
        api.assert_api_error(api.complete(client, "bucket", answer["upload_token"]), 404,
                             "Unknown upload token")
        assert post_form(answer, b"too late!!").status_code < 300
        synced = client.post("/-/files/sync/bucket", json={})
        assert synced.status_code < 300, synced.text
        api.wait_for_sync(client, "bucket", hashed=False)
        assert client.get(f"/-/files/{answer['file_id']}.json").status_code == 404
        assert client.get("/-/files/source/bucket.json").json()["files"] == []


def test_expired_uploads_are_not_swept_inside_another_users_prepare(make_s3_server, bucket):
    # One user leaves many multipart uploads to expire; the next prepare, anyone's,
    # must not wait while each is aborted at the bucket (400 took 13 s, measured).
    # The long sweep interval keeps the background sweeper out of the way.
    server = make_s3_server(settings={"upload_expiry_seconds": 3,
                                      "temp_sweep_interval_seconds": 3600})
    count = 300
    with server.client() as client:
        started = time.monotonic()
        for number in range(count):
            answer = api.prepare(client, "bucket", f"m{number}.bin", 6 * 1024 * 1024,
                                 multipart=True).json()
            asked = client.post("/-/files/upload/bucket/-/parts",
                                json={"upload_token": answer["upload_token"]})
            assert asked.status_code == 200, asked.text
        assert len(bucket.multipart_uploads()) == count
        # The request-path sweep runs at most once a minute, from the first prepare.
        time.sleep(max(0, 61 - (time.monotonic() - started)))
        started = time.monotonic()
        prepared = api.prepare(client, "bucket", "mine.txt", 4)
        took = time.monotonic() - started
        assert prepared.status_code == 200, prepared.text
        assert took < 1.0, took
        deadline = time.monotonic() + 60
        while bucket.multipart_uploads() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert bucket.multipart_uploads() == []


def test_a_flood_of_uploads_through_the_server_keeps_memory_bounded(make_s3_server):
    from concurrent.futures import ThreadPoolExecutor

    server = make_s3_server()
    size = 16 * 1024 * 1024
    block = os.urandom(1024 * 1024)

    def body():
        for _ in range(size // len(block)):
            yield block

    def upload(number: int) -> int:
        return httpx.put(f"{server.url}/-/files/upload/bucket/flood{number}.bin",
                         content=body(), headers={"content-length": str(size)},
                         timeout=300).status_code

    upload(-1)  # the client and its connections are open before measuring
    before = server.peak_rss_kib()
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(upload, range(16))) == {201}
    grown_mib = (server.peak_rss_kib() - before) / 1024
    print(f"flood: peak RSS grew {grown_mib:.0f} MiB")
    assert grown_mib < 100, grown_mib


@pytest.mark.xfail(strict=True, reason=(
    "A multipart upload's 'sha256' from prepare is checked for its form and then "
    "dropped (only a direct POST's policy pins it), and complete compares a 'sha256' only "
    "when the bucket kept a checksum, which a multipart upload begun without one never "
    "has: parts whose joined bytes have another SHA-256 register without a word, and the "
    "background hasher later records the other hash."))
def test_a_multipart_upload_with_other_bytes_than_its_declared_sha256_is_refused(
        make_s3_server):
    import hashlib

    server = make_s3_server()
    content = os.urandom(6 * 1024 * 1024)
    declared = hashlib.sha256(b"the file the client meant to send").hexdigest()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "data.bin", len(content), multipart=True,
                             sha256=declared).json()
        assert answer["transfer"] == "multipart"
        asked = client.post("/-/files/upload/bucket/-/parts",
                            json={"upload_token": answer["upload_token"],
                                  "part_numbers": [1, 2]}).json()
        for part in asked["parts"]:
            start = (part["part_number"] - 1) * asked["part_size"]
            sent = httpx.put(part["url"], content=content[start:start + part["size"]])
            assert sent.status_code == 200, sent.text
        completed = api.complete(client, "bucket", answer["upload_token"], sha256=declared)
        assert completed.status_code != 201, completed.json()["file"]


def test_a_folder_trashed_while_an_upload_into_it_is_pending_stays_gone(
        make_s3_server, bucket):
    # The upload expires after its folder went to the trash: removing the bytes
    # it never sent must not put a marker back (the folder would come back as a
    # live folder, and the next sync would register it beside its trashed self).
    server = make_s3_server(settings={"upload_expiry_seconds": 2,
                                      "temp_sweep_interval_seconds": 1})
    with server.client() as client:
        made = client.post("/-/files/folders/bucket/-/create", json={"name": "Trip"})
        assert made.status_code < 300, made.text
        answer = api.prepare(client, "bucket", "photo.jpg", 5, "image/jpeg",
                             folder="Trip").json()
        token = answer["upload_token"]
        trashed = client.post("/-/files/folders/bucket/-/delete", json={"path": "Trip"})
        assert trashed.status_code == 200, trashed.text

        def expired() -> bool:
            status = client.post("/-/files/upload/bucket/-/complete",
                                 json={"upload_token": token}).status_code
            return status in (404, 410)

        wait_until(expired, what="the upload to expire")
        time.sleep(3)  # the expiry's removals come after the token is forgotten
        live = [key for key in bucket.keys() if "Trip" in key and "trash" not in key.lower()]
        assert live == [], bucket.keys()
        synced = client.post("/-/files/sync/bucket", json={})
        assert synced.status_code < 300, synced.text
        api.wait_for_sync(client, "bucket", hashed=False)
        listed = client.get("/-/files/source/bucket.json").json()
        assert "Trip" not in str(listed.get("folders", listed)), listed


def test_a_client_trickling_bytes_cannot_hold_the_upload_memory_for_ever(make_s3_server):
    # Parts of 32 MiB: one write's three parts take the whole budget of part
    # buffers (64 MiB), so a second write must wait for the first one's room.
    import socket
    import urllib.parse

    from datasette_files.storage.s3 import budget

    server = make_s3_server({"part_size": 32 * 1024 * 1024})
    address = urllib.parse.urlsplit(server.url)
    trickler = socket.create_connection((address.hostname, address.port))
    started = time.monotonic()
    try:
        trickler.sendall(b"PUT /-/files/upload/bucket/slow.bin HTTP/1.1\r\n"
                         b"Host: localhost\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        time.sleep(1)  # its write has the room, and receives a byte at a time
        waited = time.monotonic()
        refused = httpx.put(f"{server.url}/-/files/upload/bucket/second.txt", content=b"hello",
                            timeout=120)
        waited = time.monotonic() - waited
        api.assert_api_error(refused, 503, "busy")
        assert refused.headers["retry-after"] == str(budget.RETRY_AFTER_SECONDS)
        assert budget.WAIT_SECONDS - 1 < waited < budget.WAIT_SECONDS + 5, waited
        # The trickler is past its grace: the next write that waits cuts it off.
        stored = httpx.put(f"{server.url}/-/files/upload/bucket/third.txt", content=b"hello",
                           timeout=120)
        assert stored.status_code == 201, stored.text
        held = time.monotonic() - started
        print(f"trickler: second write refused after {waited:.1f} s, "
              f"trickler cut after {held:.1f} s")
        assert held < budget.GRACE_SECONDS + 5, held
        trickler.settimeout(10)
        answer = trickler.recv(65536).decode("latin-1")
    finally:
        trickler.close()
    assert answer.startswith("HTTP/1.1 408"), answer
    assert '"ok": false' in answer and "slower than" in answer, answer
