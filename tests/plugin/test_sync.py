"""Sync of existing folders, read-only sources, and the source listing API."""

import datetime
import hashlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from ulid import ULID

from support import api
from support.config import ADMIN, ALICE, BOB
from support.server import source_config


def make_tree(root):
    files = {
        "report.pdf": b"%PDF top",
        "projects/alpha/plan.txt": b"alpha plan",
        "projects/alpha/notes.md": b"# notes",
        "projects/beta/data.csv": b"a,b\n1,2\n",
        "scans/2026/scan-001.png": b"not really a png",
        ".DS_Store": b"junk",
        ".hidden/secret.txt": b"s",
        "Thumbs.db": b"junk",
    }
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    (root / "projects").joinpath(os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name")
    return files


def config(root, **source_settings):
    return {
        "permissions": {"files-browse": True, "files-upload": True, "files-delete": True,
                        "files-edit": True, "files-manage-sources": {"roles": "admin"}},
        "plugins": {"datasette-files": {"sources": {
            "share": {**source_config(root), **source_settings}}}},
    }


def by_path(client):
    result = client.get("/-/files/search.json", params={"limit": 500}).json()
    return {(f["folder"] + "/" if f["folder"] else "") + f["filename"]: f for f in result["files"]}


def resync(client, **params):
    response = client.post("/-/files/sync/share", params=params)
    assert response.status_code == 202, response.text
    return api.wait_for_sync(client)


@pytest.fixture
def share(tmp_path, make_server):
    root = tmp_path / "share"
    root.mkdir()
    make_tree(root)
    server = make_server(config(root), data_dir=tmp_path / "data")
    return root, server


def test_existing_files_are_registered_at_start(share):
    root, server = share
    with server.client(ALICE) as client:
        status = api.wait_for_sync(client)
        assert status["sync"]["state"] == "done"
        assert status["sync"]["added"] == 5 and status["sync"]["skipped"] >= 4
        files = by_path(client)
        assert set(files) == {"report.pdf", "projects/alpha/plan.txt", "projects/alpha/notes.md",
                              "projects/beta/data.csv", "scans/2026/scan-001.png"}
        plan = files["projects/alpha/plan.txt"]
        assert plan["folder"] == "projects/alpha" and plan["content_type"] == "text/plain"
        assert plan["content_hash"].startswith("sha256:")
        assert client.get(plan["download_url"]).content == b"alpha plan"
        # The folder is searchable and filterable.
        found = client.get("/-/files/search.json", params={"q": "alpha"}).json()["files"]
        assert {f["filename"] for f in found} == {"plan.txt", "notes.md"}
        folder = client.get("/-/files/search.json", params={"folder": "projects"}).json()
        assert {f["filename"] for f in folder["files"]} == {"plan.txt", "notes.md", "data.csv"}


def test_ids_survive_resync_and_restart_and_moves_keep_theirs(share):
    root, server = share
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        before = {path: f["id"] for path, f in by_path(admin).items()}
        assert resync(admin)["sync"]["added"] == 0
        server.restart()
        api.wait_for_sync(admin)
        assert {p: f["id"] for p, f in by_path(admin).items()} == before
        # Move one file, delete one, change one, add one.
        (root / "archive").mkdir()
        shutil.move(root / "report.pdf", root / "archive" / "report-2025.pdf")
        (root / "projects/alpha/notes.md").unlink()
        (root / "projects/beta/data.csv").write_bytes(b"a,b\n1,2\n3,4\n")
        (root / "new.txt").write_bytes(b"new")
        status = resync(admin)["sync"]
        assert (status["added"], status["removed"], status["changed"], status["moved"]) == (
            1, 1, 1, 1)
        after = by_path(admin)
        assert after["archive/report-2025.pdf"]["id"] == before["report.pdf"]
        assert "projects/alpha/notes.md" not in after
        data = after["projects/beta/data.csv"]
        assert data["id"] == before["projects/beta/data.csv"] and data["size"] == 12
        assert admin.get(data["download_url"]).content == b"a,b\n1,2\n3,4\n"


def test_a_renamed_folder_keeps_its_files_ids(share):
    root, server = share
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        before = by_path(admin)
        (root / "projects/alpha").rename(root / "projects/gamma")
        status = resync(admin)["sync"]
        assert (status["added"], status["removed"], status["moved"]) == (0, 0, 2)
        after = by_path(admin)
        assert after["projects/gamma/plan.txt"]["id"] == before["projects/alpha/plan.txt"]["id"]
        assert after["projects/gamma/notes.md"]["id"] == before["projects/alpha/notes.md"]["id"]
        assert not [path for path in after if path.startswith("projects/alpha/")]


def test_an_uploaded_file_edited_on_disk_is_seen_as_changed(share):
    """Uploads record no modification time; the first sync learns it, so a later
    same-size edit in the folder is noticed and re-hashed."""
    root, server = share
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        uploaded = api.upload(admin, "share", "memo.txt", b"version 1")
        assert resync(admin)["sync"]["changed"] == 0
        [stored] = root.glob(f"{uploaded['id']}-*")
        stored.write_bytes(b"version 2")
        os.utime(stored, ns=(stored.stat().st_atime_ns, stored.stat().st_mtime_ns + 10**9))
        assert resync(admin)["sync"]["changed"] == 1
        file = admin.get(f"/-/files/{uploaded['id']}.json").json()
        assert file["content_hash"] == "sha256:" + hashlib.sha256(b"version 2").hexdigest()


def test_files_changing_during_a_sync(share):
    """Files created, deleted, renamed and rewritten while a sync walks the tree:
    the sync finishes, and the next one leaves the registry exactly as the disk,
    with the untouched files keeping their ids."""
    root, server = share
    for folder in range(20):
        (root / f"bulk/f{folder}").mkdir(parents=True)
        for n in range(150):
            (root / f"bulk/f{folder}/{n}.txt").write_bytes(b"%d-%d" % (folder, n))
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        resync(admin)
        before = {path: f["id"] for path, f in by_path_all(admin).items()}
        assert len(before) == 3005
        assert admin.post("/-/files/sync/share").status_code == 202
        touched = set()
        for n in range(140):  # while the sync runs
            folder = root / f"bulk/f{n % 20}"
            (folder / f"{n}.txt").unlink()
            (folder / f"{n + 1}.txt").rename(folder / f"renamed-{n}.txt")
            (folder / f"{n + 2}.txt").write_bytes(b"rewritten, longer than before")
            (folder / f"new-{n}.txt").write_bytes(b"new")
            touched.update(f"bulk/f{n % 20}/{name}" for name in (f"{n}.txt", f"{n + 1}.txt",
                                                                 f"{n + 2}.txt"))
            time.sleep(0.002)
        assert api.wait_for_sync(admin)["sync"]["state"] == "done"
        resync(admin)
        registered = by_path_all(admin)
        on_disk = {str(p.relative_to(root)) for p in (root / "bulk").rglob("*") if p.is_file()}
        assert {p for p in registered if p.startswith("bulk/")} == on_disk
        for path, file_id in before.items():
            if path in registered and path not in touched:
                assert registered[path]["id"] == file_id, path


def by_path_all(client):
    found, params = {}, {"limit": 500}
    while True:
        page = client.get("/-/files/source/share.json", params=params).json()
        found.update({(f["folder"] + "/" if f["folder"] else "") + f["filename"]: f
                      for f in page["files"]})
        if not page["next"]:
            return found
        params["next"] = page["next"]


def test_a_missing_or_empty_root_removes_nothing(share):
    root, server = share
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        moved_away = root.parent / "unmounted"
        root.rename(moved_away)
        status = resync(admin)["sync"]
        assert status["state"] == "unhealthy" and "cannot be read" in status["error"]
        assert len(by_path(admin)) == 5
        source = admin.get("/-/files/sources.json").json()["sources"][0]
        assert source["healthy"] is False and source["sync"]["state"] == "unhealthy"
        root.mkdir()  # mounted again, but empty
        status = resync(admin)["sync"]
        assert status["state"] == "unhealthy" and "is it unmounted" in status["error"]
        assert len(by_path(admin)) == 5
        # A flag it cannot read confirms nothing, and says so.
        api.assert_api_error(admin.post("/-/files/sync/share", params={"confirm_removals": "yes"}),
                             400, "'confirm_removals' must be one of 1, true, 0, false")
        status = resync(admin, confirm_removals="1")["sync"]
        assert status["state"] == "done" and status["removed"] == 5
        assert by_path(admin) == {}


def test_only_source_managers_sync_and_one_sync_at_a_time(share):
    root, server = share
    for n in range(3000):
        (root / f"bulk-{n}.txt").write_bytes(b"x")
    with server.client(ALICE) as alice:
        api.assert_api_error(alice.post("/-/files/sync/share"), 403, "files-manage-sources")
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin, hashed=False)
        first = admin.post("/-/files/sync/share")
        second = admin.post("/-/files/sync/share")
        assert first.status_code == 202
        api.assert_api_error(second, 409, "already running")
        api.wait_for_sync(admin)


def test_a_file_swapped_for_a_symlink_out_of_the_root_is_refused(share, tmp_path):
    root, server = share
    (tmp_path / "outside.txt").write_bytes(b"secret outside")
    with server.client(ALICE) as client:
        api.wait_for_sync(client)
        plan = by_path(client)["projects/alpha/plan.txt"]
        (root / "projects/alpha/plan.txt").unlink()
        os.symlink(tmp_path / "outside.txt", root / "projects/alpha/plan.txt")
        response = client.get(plan["download_url"])
        api.assert_api_error(response, 403, "no longer points inside")
        assert b"secret outside" not in response.content


def test_listing_api_pages_sorts_and_filters(share):
    root, server = share
    with server.client(ALICE) as client:
        api.wait_for_sync(client)
        names, params = [], {"sort": "name", "limit": 2}
        while True:
            page = client.get("/-/files/source/share.json", params=params).json()
            names.extend(f["filename"] for f in page["files"])
            if not page["next"]:
                break
            params["next"] = page["next"]
        assert names == sorted(names, key=str.lower) and len(names) == 5
        by_size = client.get("/-/files/source/share.json",
                             params={"sort": "size", "order": "desc"}).json()["files"]
        assert [f["size"] for f in by_size] == sorted((f["size"] for f in by_size), reverse=True)
        alpha = client.get("/-/files/source/share.json",
                           params={"folder": "projects/alpha"}).json()["files"]
        assert {f["filename"] for f in alpha} == {"plan.txt", "notes.md"}
        api.assert_api_error(client.get("/-/files/source/share.json?next=garbage"), 400)
        api.assert_api_error(client.get("/-/files/source/share.json?sort=colour"), 400)
    with server.client() as anonymous:
        assert anonymous.get("/-/files/source/share.json").status_code == 200


def test_read_only_sources(tmp_path, make_server):
    root = tmp_path / "ro"
    root.mkdir()
    make_tree(root)
    server = make_server(config(root, read_only=True), data_dir=tmp_path / "data")
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
        caps = admin.get("/-/files/sources.json").json()["sources"][0]["capabilities"]
        assert caps["read_only"] is True and caps["can_upload"] is False
        assert caps["can_delete"] is False
        api.assert_api_error(api.prepare(admin, "share", "x.txt", 1), 400, "does not accept")
        plan = by_path(admin)["projects/alpha/plan.txt"]
        api.assert_api_error(admin.post(f"/-/files/{plan['id']}/-/delete", json={}), 400)
        api.assert_api_error(admin.post(f"/-/files/{plan['id']}/-/update",
                                        json={"update": {"search_text": "x"}}), 403, "read-only")
        assert admin.get(plan["download_url"]).content == b"alpha plan"
        page = admin.get("/-/files/source/share").text
        assert "data-upload" not in page
    assert (root / "projects/alpha/plan.txt").read_bytes() == b"alpha plan"


# Files we stored ourselves, met by a sync that has no row for them -------------------


def registry_snapshot(server, destination):
    """A consistent copy of the server's registry, as a backup takes it."""
    source = sqlite3.connect(server.internal_db)
    copy = sqlite3.connect(destination)
    source.backup(copy)
    source.close()
    copy.close()


def put_back_registry(server, snapshot):
    """The server's registry replaced by an older copy (the server is stopped)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{server.internal_db}{suffix}").unlink(missing_ok=True)
    shutil.copy(snapshot, server.internal_db)


def forget_rows(server, *file_ids):
    """Rows lost from the registry while the server is stopped, bytes left behind."""
    db = sqlite3.connect(server.internal_db)
    db.executemany("DELETE FROM datasette_files_files WHERE id = ?", [(i,) for i in file_ids])
    db.commit()
    db.close()


def id_time(file_id):
    moment = ULID.from_str(file_id.removeprefix("df-").upper()).datetime
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def share_with_table(tmp_path, make_server):
    """An empty source, and a table whose ``attachment`` column holds file ids."""
    root, data = tmp_path / "share", tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "data.db")
    db.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, attachment TEXT)")
    db.commit()
    db.close()
    settings = config(root)
    settings["permissions"].update({"insert-row": True, "view-table": True})
    settings["databases"] = {"data": {"tables": {"attachments": {
        "column_types": {"attachment": "file"}}}}}
    return root, make_server(settings, data_dir=data, extra_args=[str(data / "data.db")])


def test_files_we_stored_come_back_as_themselves_when_the_registry_is_older(
        share_with_table, tmp_path):
    """Each way of storing a file (a small PUT, a streamed PUT, the three steps,
    chunks) records the file beside its bytes; a registry restored from before
    they were uploaded gets them back under their ids, names and owners."""
    root, server = share_with_table
    with server.client(ADMIN) as admin:
        api.wait_for_sync(admin)
    registry_snapshot(server, tmp_path / "older.db")
    with server.client(ALICE) as alice:
        small = alice.put("/-/files/upload/share/Café menu ü.pdf", content=b"%PDF menu")
        streamed = alice.put("/-/files/upload/share/Überblick 2026.bin",
                             content=os.urandom(300_000))
        uploaded = [small.json()["file"], streamed.json()["file"]]
        cell = alice.post("/data/attachments/-/insert",
                          json={"row": {"attachment": uploaded[0]["id"]}})
        assert cell.status_code == 201, cell.text
    with server.client(BOB) as bob:
        uploaded.append(api.upload(bob, "share", "Ñandú notes.md", b"# notes", "text/markdown"))
        content = os.urandom(150_000)
        token = api.prepare(bob, "share", "Große Tabelle.csv", len(content)).json()["upload_token"]
        api.send_chunk(bob, "share", token, content[:100_000], 0, len(content))
        api.send_chunk(bob, "share", token, content[100_000:], 100_000, len(content))
        uploaded.append(api.complete(bob, "share", token).json()["file"])
    server.stop()
    put_back_registry(server, tmp_path / "older.db")
    server.start()

    with server.client(ADMIN) as admin:
        assert api.wait_for_sync(admin)["sync"]["added"] == 4
        for original in uploaded:
            found = admin.get(f"/-/files/{original['id']}.json")
            assert found.status_code == 200, (original["filename"], found.text)
            file = found.json()
            for key in ("filename", "uploaded_by", "content_type", "size", "content_hash"):
                assert file[key] == original[key], (key, file)
            # The id was made when the upload began: a moment before the row.
            assert file["created_at"] == id_time(file["id"]) <= original["created_at"]
        assert {f["id"] for f in by_path(admin).values()} == {f["id"] for f in uploaded}
        # The table's cell points at a file again.
        resolved = admin.get("/-/files/batch.json", params={"id": uploaded[0]["id"]}).json()
        assert resolved["files"][uploaded[0]["id"]]["filename"] == "Café menu ü.pdf"
        again = admin.post("/data/attachments/-/insert",
                           json={"row": {"attachment": uploaded[0]["id"]}})
        assert again.status_code == 201, again.text


def test_a_file_with_no_record_or_a_taken_id(share_with_table):
    """Without a record beside the bytes, the storage name still gives the id
    and an ASCII name; a record that no longer matches the name (renamed on
    disk) is not used; a copy of a registered file gets an id of its own."""
    root, server = share_with_table
    with server.client(ALICE) as alice:
        api.wait_for_sync(alice)
        stored = {}
        for name in ("Ñandú.txt", "report.pdf", "Café menu ü.pdf"):
            response = alice.put(f"/-/files/upload/share/{name}", content=name.encode())
            assert response.status_code == 201, response.text
            stored[name] = response.json()["file"]["id"]
    server.stop()
    unrecorded, = root.glob(f"{stored['Ñandú.txt']}-*")
    for attribute in os.listxattr(unrecorded):
        os.removexattr(unrecorded, attribute)
    report, = root.glob(f"{stored['report.pdf']}-*")
    report.rename(root / f"{stored['report.pdf']}-report-v2.pdf")
    menu, = root.glob(f"{stored['Café menu ü.pdf']}-*")
    (root / "copies").mkdir()
    shutil.copy2(menu, root / "copies" / menu.name)  # with its record
    forget_rows(server, stored["Ñandú.txt"], stored["report.pdf"])
    server.start()

    with server.client(ADMIN) as admin:
        assert api.wait_for_sync(admin)["sync"]["added"] == 3
        files = by_path(admin)
        assert (files["Nandu.txt"]["id"], files["Nandu.txt"]["uploaded_by"]) == (
            stored["Ñandú.txt"], None)
        assert (files["report-v2.pdf"]["id"], files["report-v2.pdf"]["uploaded_by"]) == (
            stored["report.pdf"], None)
        assert files["Café menu ü.pdf"]["id"] == stored["Café menu ü.pdf"]
        copy = files["copies/Café menu ü.pdf"]
        assert copy["id"] != stored["Café menu ü.pdf"] and copy["uploaded_by"] == "alice"
        assert len(files) == 4


def test_two_copies_of_a_lost_file_share_nothing_but_their_bytes(share_with_table):
    root, server = share_with_table
    with server.client(ALICE) as alice:
        api.wait_for_sync(alice)
        file_id = alice.put("/-/files/upload/share/plan.txt", content=b"plan").json()["file"]["id"]
    server.stop()
    stored, = root.glob(f"{file_id}-*")
    (root / "copies").mkdir()
    shutil.copy2(stored, root / "copies" / stored.name)
    forget_rows(server, file_id)
    server.start()
    with server.client(ADMIN) as admin:
        assert api.wait_for_sync(admin)["sync"]["added"] == 2
        files = by_path(admin)
        assert set(files) == {"plan.txt", "copies/plan.txt"}
        ids = [files["plan.txt"]["id"], files["copies/plan.txt"]["id"]]
        assert file_id in ids and len(set(ids)) == 2
