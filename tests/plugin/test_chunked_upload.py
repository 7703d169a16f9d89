"""Resumable uploads: the upload step in chunks with Content-Range, asking how
many bytes the server has, resuming after a dropped connection or a restart,
and completion verifying size and sha256."""

import hashlib
import os
import time

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import source_config

CONTENT = os.urandom(3_000_000)
SHA256 = hashlib.sha256(CONTENT).hexdigest()
MIB = 1024 * 1024


@pytest.fixture
def server(tmp_path, make_server):
    return make_server({"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
        "sources": {"one": source_config(tmp_path / "one", max_file_size=200 * MIB)}}}},
        data_dir=tmp_path / "data")


def prepared(client, size=len(CONTENT)):
    return api.prepare(client, "one", "big.bin", size).json()["upload_token"]


def send_in_chunks(client, token, content, chunk_size, start=0, stop=None):
    """Bytes ``start`` to ``stop`` of ``content``, in order."""
    for offset in range(start, stop or len(content), chunk_size):
        part = content[offset:offset + chunk_size]
        response = api.send_chunk(client, "one", token, part, offset, len(content))
        assert response.status_code == 200, response.text
    return response.json()


def test_a_file_sent_in_chunks_arrives_identical(server, tmp_path):
    with server.client() as client:
        token = prepared(client)
        first = api.send_chunk(client, "one", token, CONTENT[:1_000_000], 0, len(CONTENT)).json()
        assert (first["received"], first["size"], first["status"]) == (
            1_000_000, len(CONTENT), "prepared")
        assert api.upload_progress(client, "one", token)["received"] == 1_000_000
        api.assert_api_error(api.complete(client, "one", token), 400, "Only 1000000 of 3000000")
        last = send_in_chunks(client, token, CONTENT, 1_000_000, start=1_000_000)
        assert last["received"] == len(CONTENT) and last["content_hash"] == f"sha256:{SHA256}"
        file = api.complete(client, "one", token, sha256=SHA256).json()["file"]
        assert file["size"] == len(CONTENT)
        assert client.get(file["download_url"]).content == CONTENT
    assert os.listdir(tmp_path / "one" / ".datasette-files-tmp") == []


def test_out_of_order_duplicate_overlapping_and_oversized_chunks(server):
    total = len(CONTENT)
    with server.client() as client:
        token = prepared(client)
        send = lambda start, end, **kw: api.send_chunk(  # noqa: E731
            client, "one", token, CONTENT[start:end], start, total, **kw)
        body = api.assert_api_error(send(1000, 2000), 409, "skip ahead", "starting at byte 0")
        assert body["received"] == 0
        assert send(0, 1000).status_code == 200
        body = api.assert_api_error(send(0, 1000), 409, "already received")
        assert body["received"] == 1000
        api.assert_api_error(send(500, 1500), 409, "overlap", "starting at byte 1000")
        big = prepared(client, size=100 * MIB)
        api.assert_api_error(api.send_chunk(client, "one", big, b"x" * 1000, 0, 100 * MIB,
                                            content_range=f"bytes 0-{65 * MIB}/{100 * MIB}"),
                             413, "at most 64.0 MiB")
        api.assert_api_error(send(1000, 2000, content_range=f"bytes 1000-1499/{total}"), 413,
                             "longer than its Content-Range")
        api.assert_api_error(send(1000, 2000, content_range="bytes 1000-1999/4000000"), 400,
                             "declared")
        api.assert_api_error(send(1000, 2000, content_range="bytes=1000-1999"), 400,
                             "START-END/TOTAL")
        api.assert_api_error(send(1000, 2000, content_range=f"bytes 1999-1000/{total}"), 400)
        api.assert_api_error(api.send_raw(client, "one", token, CONTENT), 409,
                             "being sent in chunks")
        # None of that cost a byte: the upload goes on from 1000.
        assert api.upload_progress(client, "one", token)["received"] == 1000
        send_in_chunks(client, token, CONTENT, 700_000, start=1000)
        assert send(0, 1000).status_code == 409  # everything is in
        file = api.complete(client, "one", token, sha256=f"sha256:{SHA256}").json()["file"]
        assert client.get(file["download_url"]).content == CONTENT


def test_a_file_larger_than_the_source_accepts_is_refused_at_the_first_chunk(server):
    with server.client() as client:
        token = api.prepare(client, "one", "huge.bin", None).json()["upload_token"]
        body = api.assert_api_error(
            api.send_chunk(client, "one", token, b"x" * 10, 0, 300 * MIB), 413,
            "The file is 300.0 MiB", "accepts files of at most")
        assert body["size"] == 300 * MIB and body["max_file_size"] < 300 * MIB


def test_a_dropped_chunk_is_resumed_from_what_the_server_has(server):
    with server.client() as client:
        token = prepared(client)
        send_in_chunks(client, token, CONTENT, 1_000_000, stop=1_000_000)
    headers = {"Content-Range": f"bytes 1000000-1999999/{len(CONTENT)}"}
    with api.partial_upload(server.port, "one", token, 1_000_000, 400_000, headers):
        pass
    with server.client() as client:
        for _ in range(50):  # the server notices the drop
            progress = api.upload_progress(client, "one", token)
            if progress["status"] == "prepared":
                break
            time.sleep(0.1)
        assert progress["received"] == 1_000_000
        send_in_chunks(client, token, CONTENT, 1_000_000, start=progress["received"])
        file = api.complete(client, "one", token, sha256=SHA256).json()["file"]
        assert client.get(file["download_url"]).content == CONTENT


def test_an_upload_resumes_after_a_restart(server):
    with server.client() as client:
        token = prepared(client)
        send_in_chunks(client, token, CONTENT, 1_000_000, stop=2_000_000)
    server.restart()
    with server.client() as client:
        assert api.upload_progress(client, "one", token)["received"] == 2_000_000
        send_in_chunks(client, token, CONTENT, 1_000_000, start=2_000_000)
        file = api.complete(client, "one", token, sha256=SHA256).json()["file"]
        assert file["content_hash"] == f"sha256:{SHA256}"
        assert client.get(file["download_url"]).content == CONTENT


def test_a_sha256_mismatch_discards_the_bytes_and_the_upload_starts_again(server):
    with server.client() as client:
        token = prepared(client)
        send_in_chunks(client, token, CONTENT, 1_500_000)
        body = api.assert_api_error(api.complete(client, "one", token, sha256="0" * 64), 422,
                                    "discarded")
        assert body["received"] == 0
        api.assert_api_error(api.complete(client, "one", token, sha256="xyz"), 400)
        assert api.upload_progress(client, "one", token)["received"] == 0
        send_in_chunks(client, token, CONTENT, 1_500_000)
        file = api.complete(client, "one", token, sha256=SHA256).json()["file"]
        assert client.get(file["download_url"]).content == CONTENT
        assert client.get("/-/files/search.json", params={"q": "big"}).json()["total"] == 1
