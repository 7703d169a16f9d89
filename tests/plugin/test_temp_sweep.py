"""Temporary files of dead uploads are swept while the server runs; a file a live
request or upload session uses is never touched."""

import hashlib
import os
import signal
import time
import uuid

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import source_config
from support.slow import read_response, start_request, wait_until

MIB = 1024 * 1024
TEMP = ".datasette-files-tmp"
# More than the first batch a streamed upload gathers in memory (4 MiB): the
# rest of the body goes through a temporary file.
STREAMED = os.urandom(6 * MIB)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "one"


@pytest.fixture
def server(root, make_server, tmp_path):
    return make_server(sweeping_config(root), data_dir=tmp_path / "data")


def sweeping_config(root, **settings):
    return {"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
        "temp_sweep_interval_seconds": 1, **settings,
        "sources": {"one": source_config(root)}}}}


def orphan(root, name: str, age_seconds: float = 0):
    """A temporary file as a killed process leaves it."""
    path = root / TEMP / name
    path.write_bytes(b"left behind" * 1000)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def wait_for_a_sweep(root) -> None:
    """Until a whole sweep has run after this call (one that removed a new orphan)."""
    canary = orphan(root, f"{uuid.uuid4().hex}.part")
    wait_until(lambda: not canary.exists(), what="a sweep")


def temp_files(root, suffix: str):
    return sorted(p for p in (root / TEMP).iterdir() if p.name.endswith(suffix))


def start_streamed_put(server, filename: str):
    """A PUT that has sent 5 of its 6 MiB and waits; returns the connection."""
    return start_request(server.port, "PUT", f"/-/files/upload/one/{filename}",
                         {"Content-Length": len(STREAMED)}, STREAMED[:5 * MIB])


def test_orphaned_temporary_files_of_every_kind_go_while_the_server_runs(server, root):
    left = [orphan(root, f"{uuid.uuid4().hex}.part", age_seconds=7200),
            orphan(root, f"{uuid.uuid4().hex}.part"),
            orphan(root, "df-01aaaaaaaaaaaaaaaaaaaaaaaa.chunks"),
            orphan(root, "df-01bbbbbbbbbbbbbbbbbbbbbbbb.chunks", age_seconds=8 * 86400),
            orphan(root, "tmpk3x_9z1q", age_seconds=7200)]
    wait_until(lambda: not any(path.exists() for path in left), what="the orphans to go")
    assert os.listdir(root / TEMP) == []


def test_a_slow_put_keeps_its_temporary_file_and_completes(server, root):
    with start_streamed_put(server, "slow.bin") as sock:
        wait_until(lambda: temp_files(root, ".part"), what="the PUT's temporary file")
        [part] = temp_files(root, ".part")
        wait_for_a_sweep(root)
        wait_for_a_sweep(root)
        assert part.exists()
        sock.sendall(STREAMED[5 * MIB:])
        status, _, body = read_response(sock)
    assert status == 201, body
    with server.client() as client:
        [file] = client.get("/-/files/search.json?q=slow").json()["files"]
        assert client.get(file["download_url"]).content == STREAMED
    assert temp_files(root, ".part") == []


def test_a_chunked_upload_keeps_its_chunks_between_requests(server, root):
    content = os.urandom(3 * MIB)
    with server.client() as client:
        prepared = api.prepare(client, "one", "chunked.bin", len(content)).json()
        token = prepared["upload_token"]
        assert api.send_chunk(client, "one", token, content[:MIB], 0, len(content)).status_code \
            == 200
        spool = root / TEMP / f"{prepared['file_id']}.chunks"
        assert spool.exists()
        wait_for_a_sweep(root)
        wait_for_a_sweep(root)
        assert spool.stat().st_size == MIB
        response = api.send_chunk(client, "one", token, content[MIB:], MIB, len(content))
        assert response.status_code == 200, response.text
        file = api.complete(client, "one", token,
                            sha256=hashlib.sha256(content).hexdigest()).json()["file"]
        assert client.get(file["download_url"]).content == content


def test_an_expired_chunked_upload_is_removed_without_waiting_for_a_request(
        make_server, tmp_path, root):
    server = make_server(sweeping_config(root, upload_expiry_seconds=5),
                         data_dir=tmp_path / "data")
    with server.client() as client:
        prepared = api.prepare(client, "one", "abandoned.bin", 2 * MIB).json()
        response = api.send_chunk(client, "one", prepared["upload_token"], b"a" * MIB, 0,
                                  2 * MIB)
        assert response.status_code == 200, response.text
    spool = root / TEMP / f"{prepared['file_id']}.chunks"
    assert spool.exists()
    # No request comes after it: the sweep alone expires the token and its bytes.
    wait_until(lambda: not spool.exists(), what="the expired upload's chunks to go")


def test_what_a_killed_server_left_goes_and_live_sessions_resume(server, root):
    content = os.urandom(3 * MIB)
    with server.client() as client:
        prepared = api.prepare(client, "one", "resumed.bin", len(content)).json()
        token = prepared["upload_token"]
        api.send_chunk(client, "one", token, content[:MIB], 0, len(content))
    with start_streamed_put(server, "killed.bin"):
        wait_until(lambda: temp_files(root, ".part"), what="the PUT's temporary file")
        [part] = temp_files(root, ".part")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    assert part.exists()
    server.start()
    wait_until(lambda: not part.exists(), what="the killed PUT's temporary file to go")
    wait_for_a_sweep(root)
    # The resumable upload outlives the crash: its chunks wait for the rest.
    assert (root / TEMP / f"{prepared['file_id']}.chunks").stat().st_size == MIB
    with server.client() as client:
        assert api.send_chunk(client, "one", token, content[MIB:], MIB,
                              len(content)).status_code == 200
        file = api.complete(client, "one", token).json()["file"]
        assert client.get(file["download_url"]).content == content
        assert client.get("/-/files/search.json?q=killed").json()["total"] == 0

