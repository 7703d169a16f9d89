"""Folders and files made by hand on the disk meet the organise operations:
folders whose names differ only in case (a case-sensitive disk allows both),
and files whose stored names are their plain names; and an upload whose
bytes are arriving while its folder is renamed."""

import socket
import time

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import source_config

ON_DISK = ["Photos/sub/x.txt", "photos/sub/y.txt", "a/report.txt", "b/report.txt"]


@pytest.fixture
def server(make_server, tmp_path):
    root = tmp_path / "team"
    for relative in ON_DISK:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    return make_server({
        "permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
        "plugins": {"datasette-files": {"sync_on_start": True, "sources": {
            "team": source_config(root)}}},
    })


def placed(client) -> set[str]:
    files = client.get("/-/files/source/team.json?_size=500").json()["files"]
    return {f"{file['folder']}/{file['filename']}" for file in files}


def folders(client) -> set[str]:
    return set(client.get("/-/files/folders/team.json").json()["folders"])


def test_a_folder_change_leaves_a_folder_named_like_it_in_another_case_alone(server, tmp_path):
    with server.client() as client:
        api.wait_for_sync(client, "team")
        moved = client.post("/-/files/folders/team/-/move", json={"path": "Photos",
                                                                  "name": "Pictures"})
        assert moved.status_code == 200, moved.text
        assert {"photos", "photos/sub", "Pictures/sub"} <= folders(client)
        assert "photos/sub/y.txt" in placed(client)
        trashed = client.post("/-/files/folders/team/-/delete", json={"path": "Pictures"})
        assert trashed.json()["trash"]["files"] == 1
        assert {"photos", "photos/sub"} <= folders(client)
        assert "photos/sub/y.txt" in placed(client)
        assert client.post("/-/files/trash/team/-/empty", json={}).json()["purged"] == 1
    assert (tmp_path / "team" / "photos" / "sub" / "y.txt").read_text() == "photos/sub/y.txt"


def test_a_file_moves_next_to_one_stored_under_the_same_plain_name(server, tmp_path):
    with server.client() as client:
        api.wait_for_sync(client, "team")
        file = client.get("/-/files/source/team.json?folder=a").json()["files"][0]
        moved = client.post(f"/-/files/{file['id']}/-/move", json={"folder": "b"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["file"]["filename"] == "report (1).txt"
        assert client.get(moved.json()["file"]["download_url"]).text == "a/report.txt"
        assert placed(client) == {"Photos/sub/x.txt", "photos/sub/y.txt", "b/report.txt",
                                  "b/report (1).txt"}
    assert (tmp_path / "team" / "b" / "report.txt").read_text() == "b/report.txt"


def test_a_file_restored_next_to_one_stored_under_the_same_plain_name(server, tmp_path):
    """Its folder went to the trash after it (taking its bytes along), and a
    file was put by hand where it was: it comes back under a numbered name."""
    with server.client() as client:
        api.wait_for_sync(client, "team")
        file = client.get("/-/files/source/team.json?folder=a").json()["files"][0]
        item = client.post(f"/-/files/{file['id']}/-/delete", json={}).json()["trash"]
        assert client.post("/-/files/folders/team/-/delete", json={"path": "a"}).status_code == 200
        (tmp_path / "team" / "a").mkdir()
        (tmp_path / "team" / "a" / "report.txt").write_text("by hand")
        assert client.post("/-/files/sync/team").status_code == 202
        api.wait_for_sync(client, "team")
        restored = client.post(item["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert restored.json()["file"]["filename"] == "report (1).txt"
        assert client.get(restored.json()["file"]["download_url"]).text == "a/report.txt"
    assert (tmp_path / "team" / "a" / "report.txt").read_text() == "by hand"


@pytest.mark.xfail(strict=True, reason="not fixed: the bytes of an upload being received "
                   "land in the folder's old path (made again), its row says the new one")
def test_an_upload_received_while_its_folder_is_renamed_can_be_downloaded(server, tmp_path):
    size = 3_000_000
    with server.client() as client:
        assert client.post("/-/files/folders/team/-/create", json={"name": "f"}).status_code == 201
        token = api.prepare(client, "team", "big.bin", size, folder="f").json()["upload_token"]
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"POST /-/files/upload/team/-/upload HTTP/1.1\r\nHost: test\r\n"
                         f"X-Upload-Token: {token}\r\nContent-Length: {size}\r\n\r\n".encode()
                         + b"p" * (size // 3))
            time.sleep(1)  # not a timed assertion: the receive is under way either way
            moved = client.post("/-/files/folders/team/-/move", json={"path": "f", "name": "g"})
            assert moved.status_code == 200, moved.text
            sock.sendall(b"p" * (size - size // 3))
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        completed = api.complete(client, "team", token)
        assert completed.status_code == 201, completed.text
        assert completed.json()["file"]["folder"] == "g"
        assert client.get(completed.json()["file"]["download_url"]).content == b"p" * size
    assert not (tmp_path / "team" / "f").exists()
