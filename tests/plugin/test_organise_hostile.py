"""Folders, moves and the trash against hostile or unlucky timing and disks:
names at the limits, something else where a folder goes, a sync walking while
folders move, an upload whose folder moves between prepare and complete, and
a kill -9 inside a folder's restore or a move that replaces a file."""

import concurrent.futures

import httpx
import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.pool import SourcePool


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("hostile"), kinds=("team",))


@pytest.fixture(scope="module")
def server(pool):
    """One server for the module; each test has a source of its own (``src.team``)."""
    yield from pool.serve({
        "permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
        "plugins": {"datasette-files": {"sync_on_start": False, "sources": pool.sources()}},
    })


def make_folder(client, source, name, parent="", **extra):
    return client.post(f"/-/files/folders/{source}/-/create",
                       json={"folder": parent, "name": name, **extra})


def move_folder(client, source, path, **body):
    return client.post(f"/-/files/folders/{source}/-/move", json={"path": path, **body})


def all_files(client, source) -> dict:
    files, url = {}, f"/-/files/source/{source}.json?_size=500"
    while url:
        page = client.get(url).json()
        files.update((file["id"], file) for file in page["files"])
        url = page.get("next_url")
    return files


def test_a_file_or_link_where_a_folder_goes_is_a_conflict(server, src):
    (src.team_dir / "plain").write_text("a file, made by hand")
    with server.client() as client:
        api.assert_api_error(make_folder(client, src.team, "plain"), 409, "plain")
        assert make_folder(client, src.team, "Docs").status_code == 201
        api.assert_api_error(move_folder(client, src.team, "Docs", name="plain"), 409, "plain")
        assert client.get(f"/-/files/folders/{src.team}.json").json()["folders"] == ["Docs"]
    assert (src.team_dir / "Docs").is_dir()


def test_two_renames_of_one_file_at_once_both_land(server, src):
    """The second waits for the first (one change per source at a time), then
    renames the file from where the first left it: no 404 for a stale path."""
    with server.client() as client:
        file = api.upload(client, src.team, "race.txt", b"r")
    url = f"{server.url}/-/files/{file['id']}/-/rename"
    names = [f"name-{n}.txt" for n in range(8)]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda name: httpx.post(url, json={"filename": name},
                                                        timeout=60), names))
    assert [a.status_code for a in answers] == [200] * len(names), [a.text for a in answers]
    with server.client() as client:
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["filename"] in names
        assert client.get(now["download_url"]).content == b"r"


def test_a_delete_racing_renames_trashes_the_file_as_it_is(server, src):
    """The delete waits for the renames before it, then trashes the file under
    the name it has by then (its item named as the file in it)."""
    with server.client() as client:
        file = api.upload(client, src.team, "racer.txt", b"r")
    base = f"{server.url}/-/files/{file['id']}/-/"
    calls = [("rename", {"filename": f"r-{n}.txt"}) for n in range(6)] + [("delete", {})]
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda call: httpx.post(base + call[0], json=call[1],
                                                        timeout=60), calls))
    deleted = answers[-1]
    assert deleted.status_code == 200, deleted.text
    item = deleted.json()["trash"]
    assert item["name"] == item["file"]["filename"], item


def test_a_numbered_folder_name_stays_within_255_bytes(server, src):
    name = "é" * 127  # 254 bytes
    with server.client() as client:
        assert make_folder(client, src.team, name).status_code == 201
        second = make_folder(client, src.team, name, on_conflict="rename")
        assert second.status_code == 201, second.text
        numbered = second.json()["folder"]["name"]
        assert numbered.endswith(" (1)") and len(numbered.encode()) <= 255
        assert (src.team_dir / numbered).is_dir()
        item = client.post(f"/-/files/folders/{src.team}/-/delete",
                           json={"path": name}).json()["trash"]
        assert make_folder(client, src.team, name).status_code == 201
        restored = client.post(item["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert len(restored.json()["folder"]["name"].encode()) <= 255


def test_purging_an_empty_folder_leaves_nothing_in_the_storage_trash(server, src):
    with server.client() as client:
        make_folder(client, src.team, "Empty")
        item = client.post(f"/-/files/folders/{src.team}/-/delete", json={"path": "Empty"}).json()
        assert client.post(item["trash"]["purge_url"], json={}).status_code == 200
    trash = src.team_dir / ".datasette-files-trash"
    assert list(trash.iterdir()) == []


@pytest.mark.parametrize("change", ["rename", "delete"])
def test_an_upload_whose_folder_changes_before_complete_keeps_its_bytes(server, src,
                                                                         change):
    with server.client() as client:
        make_folder(client, src.team, "Inbox")
        token = api.prepare(client, src.team, "scan.pdf", 6, folder="Inbox").json()["upload_token"]
        assert api.send_raw(client, src.team, token, b"%PDF-1").status_code == 200
        if change == "rename":
            assert move_folder(client, src.team, "Inbox", name="Scans").status_code == 200
            completed = api.complete(client, src.team, token)
            assert completed.status_code == 201, completed.text
            file = completed.json()["file"]
            assert file["folder"] == "Scans"
            assert client.get(file["download_url"]).content == b"%PDF-1"
            assert api.stored_files(src.team_dir) == [f"Scans/{file['id']}-scan.pdf"]
            assert client.get(f"/-/files/folders/{src.team}.json").json()["folders"] == ["Scans"]
        else:
            item = client.post(f"/-/files/folders/{src.team}/-/delete", json={"path": "Inbox"})
            # Its folder is in the trash: it is not registered anywhere...
            api.assert_api_error(api.complete(client, src.team, token), 404, "folder", "deleted")
            assert client.get(f"/-/files/folders/{src.team}.json").json()["folders"] == []
            assert all_files(client, src.team) == {}
            # ...and purging the folder leaves nothing behind.
            purged = client.post(item.json()["trash"]["purge_url"], json={})
            assert purged.status_code == 200
            assert api.stored_files(src.team_dir) == []


def test_folders_moved_while_a_sync_walks_lose_no_file(server, src):
    root = src.team_dir
    for folder in ("a", "b", "c"):
        (root / folder).mkdir(parents=True)
        for n in range(1500):
            (root / folder / f"{folder}{n:05d}.txt").write_text(str(n))
    with server.client() as client:
        client.post(f"/-/files/sync/{src.team}", json={})
        api.wait_for_sync(client, src.team, hashed=False)
        before = all_files(client, src.team)
        assert len(before) == 4500
        answers, renamed_while_syncing = set(), 0
        for _ in range(3):
            assert client.post(f"/-/files/sync/{src.team}", json={}).status_code == 202
            while client.get(f"/-/files/sync/{src.team}.json").json()["running"]:
                for folder in ("a", "b", "c"):
                    for old, new in ((folder, folder + "x"), (folder + "x", folder)):
                        answers.add(move_folder(client, src.team, old, name=new).status_code)
                renamed_while_syncing += 1
        assert renamed_while_syncing, "every sync ended before a rename was sent"
        # Refused (409: try again) while the sync walks, or made: never lost.
        assert answers <= {200, 404, 409}, answers
        after = all_files(client, src.team)
        assert set(after) == set(before)
        assert len(api.stored_files(root)) == 4500
        for file in list(after.values())[::300]:
            assert client.get(file["download_url"]).status_code == 200
