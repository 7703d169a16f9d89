"""A server killed (SIGKILL) at every point of a move, a trash or a restore:
at the next start the registry points at exactly one complete copy of each
file, and any other copy is gone.

The server kills itself where a test names a point (``changes.crash_point``):
after the journal is written, after each storage step, after the commit.
"""


import httpx
import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import source_config

CRASH_AT = "DATASETTE_FILES_TEST_CRASH_AT"
POINTS = ["journaled", "step-1", "committed"]


@pytest.fixture
def crashing(make_server, tmp_path):
    def start(point):
        """A server killed at ``point`` (None: never)."""
        return make_server({
            "permissions": OPEN_PERMISSIONS,
            "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
                "team": source_config(tmp_path / "team"),
                "archive": source_config(tmp_path / "archive")}}},
        }, env={CRASH_AT: point} if point else {})

    return start


def crash(server, method_url, body):
    """Send the request that kills the server; then start it again, unarmed."""
    with server.client() as client:
        with pytest.raises(httpx.HTTPError):
            client.post(method_url, json=body)
    server.process.wait(timeout=30)
    assert server.process.returncode == -9
    server.env = {}
    server.start()


@pytest.mark.parametrize("point", POINTS)
def test_a_move_across_sources_killed_anywhere_leaves_one_copy(crashing, tmp_path, point):
    server = crashing(point)
    with server.client() as client:
        file = api.upload(client, "team", "ledger.csv", b"a,b\n1,2\n")
    crash(server, f"/-/files/{file['id']}/-/move", {"source": "archive"})
    with server.client() as client:
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["source_slug"] == ("team" if point != "committed" else "archive")
        assert client.get(now["download_url"]).content == b"a,b\n1,2\n"
    copies = api.stored_files(tmp_path / "team") + api.stored_files(tmp_path / "archive")
    assert len(copies) == 1, copies


@pytest.mark.parametrize("point", POINTS)
def test_a_rename_killed_anywhere_leaves_the_file_whole(crashing, tmp_path, point):
    server = crashing(point)
    with server.client() as client:
        file = api.upload(client, "team", "draft.txt", b"text")
    crash(server, f"/-/files/{file['id']}/-/rename", {"filename": "final.txt"})
    with server.client() as client:
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["filename"] == ("draft.txt" if point != "committed" else "final.txt")
        assert client.get(now["download_url"]).content == b"text"
    stored = api.stored_files(tmp_path / "team")
    assert len(stored) == 1 and stored[0].startswith(file["id"]), stored


@pytest.mark.parametrize("point", POINTS)
def test_a_folder_deleted_killed_anywhere_is_whole_in_one_place(crashing, tmp_path, point):
    server = crashing(point)
    with server.client() as client:
        client.post("/-/files/folders/team/-/create", json={"name": "Trip"})
        file = api.upload(client, "team", "photo.jpg", b"jpeg", folder="Trip")
    crash(server, "/-/files/folders/team/-/delete", {"path": "Trip"})
    with server.client() as client:
        trash = client.get("/-/files/trash/team.json").json()["items"]
        listed = client.get("/-/files/source/team.json").json()["folders"]
        if point == "committed":
            assert [i["name"] for i in trash] == ["Trip"] and listed == []
            restored = client.post(trash[0]["restore_url"], json={})
            assert restored.status_code == 200, restored.text
        else:
            assert trash == [] and [f["path"] for f in listed] == ["Trip"]
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["folder"] == "Trip"
        assert client.get(now["download_url"]).content == b"jpeg"
    assert len(api.stored_files(tmp_path / "team")) == 1


# A purge has no storage step: its rows go, then its bytes (the cleanup).
@pytest.mark.parametrize("point", ["journaled", "committed"])
def test_a_purge_killed_anywhere_leaves_no_bytes_behind_a_row(crashing, tmp_path, point):
    server = crashing(point)
    with server.client() as client:
        file = api.upload(client, "team", "old.txt", b"x")
        item = client.post(f"/-/files/{file['id']}/-/delete", json={}).json()["trash"]
    crash(server, item["purge_url"], {})
    with server.client() as client:
        items = client.get("/-/files/trash/team.json").json()["items"]
    if point == "committed":
        assert items == [] and api.stored_files(tmp_path / "team") == []
    else:
        assert [i["id"] for i in items] == [item["id"]]
        assert len(api.stored_files(tmp_path / "team")) == 1


@pytest.mark.parametrize("point", POINTS)
def test_a_folder_restore_killed_anywhere_is_whole_in_one_place(crashing, tmp_path, point):
    server = crashing(None)
    with server.client() as client:
        client.post("/-/files/folders/team/-/create", json={"name": "Trip"})
        file = api.upload(client, "team", "photo.jpg", b"jpeg", folder="Trip")
        item = client.post("/-/files/folders/team/-/delete", json={"path": "Trip"}).json()["trash"]
    server.env = {CRASH_AT: point}  # armed for the restore only
    server.restart()
    crash(server, item["restore_url"], {})
    with server.client() as client:
        trash = client.get("/-/files/trash/team.json").json()["items"]
        if point == "committed":
            assert trash == []
        else:
            assert [i["id"] for i in trash] == [item["id"]]
            assert client.post(item["restore_url"], json={}).status_code == 200
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["folder"] == "Trip"
        assert client.get(now["download_url"]).content == b"jpeg"
        assert client.get("/-/files/folders/team.json").json()["folders"] == ["Trip"]
    assert api.stored_files(tmp_path / "team") == [f"Trip/{file['id']}-photo.jpg"]


@pytest.mark.parametrize("source", ["team", "archive"])
@pytest.mark.parametrize("point", POINTS)
def test_a_move_onto_a_taken_name_with_replace_killed_anywhere(crashing, tmp_path, point,
                                                                 source):
    server = crashing(point)
    with server.client() as client:
        old = api.upload(client, source, "plan.txt", b"old plan")
        new = api.upload(client, "team", "draft.txt", b"new plan")
    crash(server, f"/-/files/{new['id']}/-/move",
          {"source": source, "filename": "plan.txt", "on_conflict": "replace"})
    with server.client() as client:
        moved = client.get(f"/-/files/{new['id']}.json").json()
        assert client.get(moved["download_url"]).content == b"new plan"
        trash = client.get(f"/-/files/trash/{source}.json").json()["items"]
        if point == "committed":
            assert (moved["source_slug"], moved["filename"]) == (source, "plan.txt")
            assert client.get(f"/-/files/{old['id']}.json").status_code == 404
            assert [i["file"]["id"] for i in trash] == [old["id"]]
            restored = client.post(trash[0]["restore_url"], json={}).json()["file"]
            assert restored["filename"] == "plan (1).txt"
        else:
            assert (moved["source_slug"], moved["filename"]) == ("team", "draft.txt")
            assert trash == []
        kept = client.get(f"/-/files/{old['id']}.json").json()
        assert client.get(kept["download_url"]).content == b"old plan"
    copies = api.stored_files(tmp_path / "team") + api.stored_files(tmp_path / "archive")
    assert len(copies) == 2, copies


@pytest.mark.parametrize("point", ["journaled", "step-2", "committed"])
def test_a_bulk_move_killed_anywhere_leaves_every_file_whole(crashing, tmp_path, point):
    """Three files moved across sources in one change: killed before the
    commit, all three are where they were; after it, all three moved."""
    server = crashing(point)
    with server.client() as client:
        files = [api.upload(client, "team", f"part{n}.csv", b"row %d\n" % n) for n in range(3)]
    crash(server, "/-/files/-/move", {"ids": [f["id"] for f in files], "source": "archive"})
    with server.client() as client:
        for n, file in enumerate(files):
            now = client.get(f"/-/files/{file['id']}.json").json()
            assert now["source_slug"] == ("team" if point != "committed" else "archive")
            assert client.get(now["download_url"]).content == b"row %d\n" % n
    copies = api.stored_files(tmp_path / "team") + api.stored_files(tmp_path / "archive")
    assert len(copies) == 3, copies
