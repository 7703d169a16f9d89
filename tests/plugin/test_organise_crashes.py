"""A server killed (SIGKILL) at every point of a move, a trash or a restore:
at the next start the registry points at exactly one complete copy of each
file, and any other copy is gone.

The server kills itself where a test names a point (``changes.crash_point``):
after the journal is written, after each storage step, after the commit.
"""

from pathlib import Path

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
        return make_server({
            "permissions": OPEN_PERMISSIONS,
            "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
                "team": source_config(tmp_path / "team"),
                "archive": source_config(tmp_path / "archive")}}},
        }, env={CRASH_AT: point})

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


def stored_files(root: Path) -> list[str]:
    """Every file under a source's root but the server's own temporary files."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and ".datasette-files-tmp" not in p.parts)


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
    copies = stored_files(tmp_path / "team") + stored_files(tmp_path / "archive")
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
    stored = stored_files(tmp_path / "team")
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
    assert len(stored_files(tmp_path / "team")) == 1


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
        assert items == [] and stored_files(tmp_path / "team") == []
    else:
        assert [i["id"] for i in items] == [item["id"]]
        assert len(stored_files(tmp_path / "team")) == 1
