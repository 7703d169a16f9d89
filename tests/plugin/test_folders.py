"""Folders, renames and moves over HTTP, against a real server and real disk.

One server for the module; each test has sources of its own (``src.team`` and
``src.archive``). Search spans every source: give files names no other test uses."""

import os

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.pool import SourcePool


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("folders"), kinds=("team", "archive"))


@pytest.fixture(scope="module")
def server(pool):
    yield from pool.serve({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": pool.sources()}},
    })


def make_folder(client, source, parent, name, **extra):
    return client.post(f"/-/files/folders/{source}/-/create",
                       json={"folder": parent, "name": name, **extra})


def listing(client, source, folder=None):
    params = {"folder": folder} if folder is not None else {}
    response = client.get(f"/-/files/source/{source}.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_folder_is_made_in_storage_and_listed_even_when_empty(server, src):
    with server.client() as client:
        made = make_folder(client, src.team, "", "Reports")
        assert made.status_code == 201, made.text
        assert made.json()["folder"] == {
            "source": src.team, "path": "Reports", "name": "Reports", "parent": "",
            "file_count": 0, "folder_count": 0, "created_at": made.json()["folder"]["created_at"],
            "url": f"/-/files/source/{src.team}?folder=Reports"}
        assert make_folder(client, src.team, "Reports", "2024").status_code == 201
        assert (src.team_dir / "Reports" / "2024").is_dir()
        root = listing(client, src.team)
        assert [f["name"] for f in root["folders"]] == ["Reports"]
        assert root["folders"][0]["folder_count"] == 1
        inside = listing(client, src.team, "Reports")
        assert inside["folder_info"]["path"] == "Reports"
        assert [f["path"] for f in inside["folders"]] == ["Reports/2024"]
        assert client.get(f"/-/files/folders/{src.team}.json").json()["folders"] == [
            "Reports", "Reports/2024"]


def test_a_taken_folder_name_is_refused_or_numbered(server, src):
    with server.client() as client:
        make_folder(client, src.team, "", "Photos")
        body = api.assert_api_error(make_folder(client, src.team, "", "photos"), 409,
                                    "already here")
        assert body["conflict"] == {"folder": "Photos"}
        renamed = make_folder(client, src.team, "", "Photos",
                              on_conflict="rename").json()["folder"]
        assert renamed["name"] == "Photos (1)"


@pytest.mark.parametrize("name", ["", "a/b", "..", ".hidden", "x\x01y", "é" * 200,
                                  ".datasette-files-trash", 7])
def test_bad_folder_names_are_refused(server, src, name):
    with server.client() as client:
        api.assert_api_error(make_folder(client, src.team, "", name), 400)
        api.assert_api_error(make_folder(client, src.team, "nowhere", "x"), 404, "nowhere")


def test_uploads_go_into_a_folder_and_its_count(server, src):
    with server.client() as client:
        make_folder(client, src.team, "", "Invoices")
        file = api.upload(client, src.team, "march.pdf", b"%PDF-1", folder="Invoices")
        assert file["folder"] == "Invoices"
        put = client.put(f"/-/files/upload/{src.team}/april.pdf", params={"folder": "Invoices"},
                         content=b"%PDF-2")
        assert put.status_code == 201, put.text
        assert put.json()["file"]["folder"] == "Invoices"
        on_disk = os.listdir(src.team_dir / "Invoices")
        assert sorted(name.split("-", 2)[2] for name in on_disk) == ["april.pdf", "march.pdf"]
        inside = listing(client, src.team, "Invoices")
        assert sorted(f["filename"] for f in inside["files"]) == ["april.pdf", "march.pdf"]
        assert inside["folder_info"]["file_count"] == 2
        assert listing(client, src.team)["folders"][0]["file_count"] == 2
        api.assert_api_error(api.prepare(client, src.team, "x.pdf", 1, folder="Nope"), 404)


def test_a_second_upload_of_a_name_is_numbered_refused_or_replaces(server, src):
    with server.client() as client:
        first = api.upload(client, src.team, "IMG_2041.jpg", b"one")
        second = api.upload(client, src.team, "img_2041.jpg", b"two")
        assert second["filename"] == "img_2041 (1).jpg"
        body = api.assert_api_error(
            api.prepare(client, src.team, "IMG_2041.jpg", 5, on_conflict="error"), 409,
            "already")
        assert body["conflict"]["file_id"] == first["id"]
        replaced = api.upload(client, src.team, "IMG_2041.jpg", b"three",
                              on_conflict="replace")
        assert replaced["id"] == first["id"] and replaced["size"] == 5
        assert client.get(first["download_url"]).content == b"three"
        trash = client.get(f"/-/files/trash/{src.team}.json").json()
        assert [(i["name"], i["file"]["size"]) for i in trash["items"]] == [("IMG_2041.jpg", 3)]
        assert trash["items"][0]["file"]["id"] != first["id"]


def test_a_file_renamed_and_moved_keeps_its_id_and_bytes(server, src):
    with server.client() as client:
        make_folder(client, src.team, "", "Done")
        file = api.upload(client, src.team, "draft.txt", b"words")
        renamed = client.post(f"/-/files/{file['id']}/-/rename", json={"filename": "final.txt"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["file"]["filename"] == "final.txt"
        moved = client.post(f"/-/files/{file['id']}/-/move", json={"folder": "Done"}).json()
        assert moved["file"]["id"] == file["id"] and moved["file"]["folder"] == "Done"
        assert client.get(file["download_url"]).content == b"words"
        assert [n for n in os.listdir(src.team_dir / "Done")] == [
            f"{file['id']}-final.txt"]
        hits = client.get("/-/files/search.json", params={"q": "final"}).json()["files"]
        assert [h["id"] for h in hits] == [file["id"]]


def test_a_move_to_another_source_copies_then_removes(server, src):
    with server.client() as client:
        file = api.upload(client, src.team, "plan.txt", b"the plan")
        moved = client.post(f"/-/files/{file['id']}/-/move", json={"source": src.archive})
        assert moved.status_code == 200, moved.text
        assert moved.json()["file"]["source_slug"] == src.archive
        assert client.get(file["download_url"]).content == b"the plan"
        assert [n for n in os.listdir(src.team_dir) if not n.startswith(".")] == []
        assert os.listdir(src.archive_dir) != []


def test_a_file_moved_across_sources_is_not_taken_for_a_changed_one(server, src):
    """The copy is new bytes on disk: the registry must not compare them with the
    original's modification time (a download would take the file for changed,
    drop its hash and thumbnails, and hash it again)."""
    with server.client() as client:
        file = api.upload(client, src.team, "same.txt", b"same bytes")
        assert client.get(file["download_url"]).status_code == 200  # learns its mtime
        client.post(f"/-/files/{file['id']}/-/move", json={"source": src.archive})
        assert client.get(file["download_url"]).content == b"same bytes"
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["content_hash_state"] == "hashed", now
        assert now["content_hash"] == file["content_hash"]


def test_moving_onto_a_taken_name(server, src):
    with server.client() as client:
        a = api.upload(client, src.team, "a.txt", b"a")
        b = api.upload(client, src.team, "b.txt", b"b")
        url = f"/-/files/{a['id']}/-/rename"
        api.assert_api_error(client.post(url, json={"filename": "B.TXT", "on_conflict": "error"}),
                             409)
        assert client.post(url, json={"filename": "b.txt"}).json()["file"]["filename"] == \
            "b (1).txt"
        replaced = client.post(url, json={"filename": "b.txt", "on_conflict": "replace"})
        assert replaced.json()["file"]["id"] == a["id"]
        assert client.get(f"/-/files/{b['id']}.json").status_code == 404
        trash = client.get(f"/-/files/trash/{src.team}.json").json()["items"]
        assert [i["file"]["id"] for i in trash] == [b["id"]]


def test_a_folder_renamed_and_moved_takes_its_files(server, src):
    with server.client() as client:
        make_folder(client, src.team, "", "Projects")
        make_folder(client, src.team, "Projects", "Alpha")
        make_folder(client, src.team, "", "Old")
        file = api.upload(client, src.team, "spec.md", b"# spec", folder="Projects/Alpha")
        renamed = client.post(f"/-/files/folders/{src.team}/-/move",
                              json={"path": "Projects/Alpha", "name": "Beta"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["folder"]["path"] == "Projects/Beta"
        moved = client.post(f"/-/files/folders/{src.team}/-/move",
                            json={"path": "Projects", "folder": "Old"}).json()
        assert moved["folder"]["path"] == "Old/Projects"
        now = client.get(f"/-/files/{file['id']}.json").json()
        assert now["folder"] == "Old/Projects/Beta"
        assert client.get(now["download_url"]).content == b"# spec"
        assert (src.team_dir / "Old" / "Projects" / "Beta").is_dir()
        counts = {f["path"]: f["file_count"] for f in client.get(
            f"/-/files/source/{src.team}.json",
            params={"folder": "Old/Projects"}).json()["folders"]}
        assert counts == {"Old/Projects/Beta": 1}
        hits = client.get("/-/files/search.json", params={"q": "spec", "folder": "Old"}).json()
        assert [h["id"] for h in hits["files"]] == [file["id"]]
        api.assert_api_error(client.post(f"/-/files/folders/{src.team}/-/move",
                                         json={"path": "Old", "folder": "Old/Projects"}), 400,
                             "into itself")


def test_a_folder_path_past_1024_bytes_is_refused_not_a_500(server, src):
    """Each name is at most 255 bytes; a whole path at most 1024, so a folder
    and everything in it stays within what filesystems take."""
    long = "n" * 250
    with server.client() as client:
        parent = ""
        for depth in range(4):
            assert make_folder(client, src.team, parent, f"{long}{depth}").status_code == 201
            parent = f"{parent}/{long}{depth}" if parent else f"{long}{depth}"
        api.assert_api_error(make_folder(client, src.team, parent, long), 400, "1024")
        middling = "m" * 40
        make_folder(client, src.team, "", middling)
        # Moved into another folder, its deepest folder would pass the limit.
        api.assert_api_error(client.post(f"/-/files/folders/{src.team}/-/move", json={
            "path": f"{long}0", "folder": middling}), 400, "1024")
        api.assert_api_error(client.post(f"/-/files/folders/{src.team}/-/move", json={
            "path": middling, "folder": parent}), 400, "1024")
