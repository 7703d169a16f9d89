"""The trash over HTTP: delete, restore (also into a taken place), purge, empty,
retention, and what a trashed file looks like to everything else."""

import os
import sqlite3

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import source_config
from support.slow import wait_until


def config(tmp_path, **settings):
    return {"permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
            "plugins": {"datasette-files": {**settings, "sources": {
                "team": source_config(tmp_path / "team")}}}}


@pytest.fixture
def server(make_server, tmp_path):
    return make_server(config(tmp_path))


def trash_items(client):
    response = client.get("/-/files/trash/team.json")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_deleted_file_leaves_everything_but_the_trash_and_comes_back(server):
    with server.client() as client:
        file = api.upload(client, "team", "heron.txt", b"grey heron")
        deleted = client.post(f"/-/files/{file['id']}/-/delete", json={})
        assert deleted.status_code == 200, deleted.text
        item = deleted.json()["trash"]
        assert item["kind"] == "file" and item["name"] == "heron.txt" and item["files"] == 1
        for url in (f"/-/files/{file['id']}.json", file["download_url"],
                    file["thumbnail_url"]):
            assert client.get(url).status_code == 404, url
        assert client.get("/-/files/search.json?q=heron").json()["files"] == []
        assert client.get(f"/-/files/batch.json?id={file['id']}").json()["files"] == {}
        assert [i["id"] for i in trash_items(client)] == [item["id"]]
        restored = client.post(item["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert restored.json()["file"]["id"] == file["id"]
        assert client.get(file["download_url"]).content == b"grey heron"
        assert [f["id"] for f in client.get("/-/files/search.json?q=heron").json()["files"]] \
            == [file["id"]]
        assert trash_items(client) == []


def test_a_restore_into_a_taken_name_is_numbered(server):
    with server.client() as client:
        first = api.upload(client, "team", "notes.txt", b"1")
        item = client.post(f"/-/files/{first['id']}/-/delete", json={}).json()["trash"]
        api.upload(client, "team", "notes.txt", b"2")
        restored = client.post(item["restore_url"], json={}).json()["file"]
        assert restored["filename"] == "notes (1).txt"


def test_a_deleted_folder_frees_its_name_and_restores_whole(server, tmp_path):
    with server.client() as client:
        client.post("/-/files/folders/team/-/create", json={"name": "Trip"})
        client.post("/-/files/folders/team/-/create", json={"folder": "Trip", "name": "Day 1"})
        one = api.upload(client, "team", "a.jpg", b"a", folder="Trip")
        two = api.upload(client, "team", "b.jpg", b"b", folder="Trip/Day 1")
        # A file deleted from inside it before: its own item, and its bytes move too.
        inner = client.post(f"/-/files/{one['id']}/-/delete", json={}).json()["trash"]
        deleted = client.post("/-/files/folders/team/-/delete", json={"path": "Trip"})
        assert deleted.status_code == 200, deleted.text
        item = deleted.json()["trash"]
        assert (item["kind"], item["name"], item["files"]) == ("folder", "Trip", 1)
        assert not (tmp_path / "team" / "Trip").exists()
        assert client.get("/-/files/source/team.json").json()["folders"] == []
        assert client.post("/-/files/folders/team/-/create",
                           json={"name": "Trip"}).status_code == 201
        restored = client.post(item["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert restored.json()["folder"]["path"] == "Trip (1)"
        again = client.get(f"/-/files/{two['id']}.json").json()
        assert again["folder"] == "Trip (1)/Day 1"
        assert client.get(again["download_url"]).content == b"b"
        assert [f["path"] for f in client.get(
            "/-/files/source/team.json", params={"folder": "Trip (1)"}).json()["folders"]] == [
            "Trip (1)/Day 1"]
        # The file deleted before the folder comes back into its own (re-made) folder.
        back = client.post(inner["restore_url"], json={}).json()["file"]
        assert back["folder"] == "Trip" and client.get(back["download_url"]).content == b"a"


def test_purge_and_empty_remove_the_bytes(server, tmp_path):
    with server.client() as client:
        files = [api.upload(client, "team", f"{n}.txt", b"x") for n in range(3)]
        items = [client.post(f"/-/files/{f['id']}/-/delete", json={}).json()["trash"]
                 for f in files]
        assert client.post(items[0]["purge_url"], json={}).json() == {"ok": True, "purged": 1}
        assert client.post(items[0]["restore_url"], json={}).status_code == 404
        assert client.post("/-/files/trash/team/-/empty", json={}).json()["purged"] == 2
        assert [n for n in os.listdir(tmp_path / "team") if not n.startswith(".")] == []
        assert trash_items(client) == []


def test_permanent_delete_skips_the_trash(server, tmp_path):
    with server.client() as client:
        file = api.upload(client, "team", "gone.txt", b"x")
        answer = client.post(f"/-/files/{file['id']}/-/delete", json={"permanent": True}).json()
        assert answer == {"ok": True, "deleted": file["id"], "trash": None}
        assert trash_items(client) == []
        assert [n for n in os.listdir(tmp_path / "team") if not n.startswith(".")] == []


def test_sync_does_not_bring_back_a_trashed_file(server):
    with server.client() as client:
        file = api.upload(client, "team", "keep-out.txt", b"x")
        client.post(f"/-/files/{file['id']}/-/delete", json={})
        assert client.post("/-/files/sync/team").status_code == 202
        status = api.wait_for_sync(client, "team")
        assert status["sync"]["added"] == 0, status
        assert client.get("/-/files/search.json").json()["files"] == []


def test_items_older_than_the_retention_are_purged_at_start(make_server, tmp_path):
    server = make_server(config(tmp_path, trash_retention_days=1))
    with server.client() as client:
        file = api.upload(client, "team", "old.txt", b"x")
        client.post(f"/-/files/{file['id']}/-/delete", json={})
    server.stop()
    with sqlite3.connect(server.internal_db) as db:
        db.execute("UPDATE datasette_files_trash_items SET trashed_at = '2020-01-01 00:00:00'")
    server.start()
    with server.client() as client:
        wait_until(lambda: trash_items(client) == [])
        assert [n for n in os.listdir(tmp_path / "team") if not n.startswith(".")] == []
