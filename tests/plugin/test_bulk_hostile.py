"""POST /-/files/-/delete and /-/files/-/move against a hostile or careless
client: limits of the destination, rights checked long before the files are
acted on, names taken meanwhile. Each test is a hole found by trying it."""

import concurrent.futures
import sqlite3
import time

import pytest
from datasette_files.views.bulk import BATCH, BATCH_BYTES, batches

from support import api
from support.config import ADMIN, ALICE, BOB, OPEN_PERMISSIONS
from support.server import source_config

ADMIN_ONLY = {"roles": "admin"}


def ids(files) -> list[str]:
    return [file["id"] for file in files]


def assert_whole(server, tmp_path, slugs) -> None:
    """Every row (live or in the trash) points at bytes that exist, and no
    bytes are left that no row points at."""
    conn = sqlite3.connect(server.internal_db)
    rows = conn.execute("SELECT source_slug, path FROM datasette_files_files UNION ALL "
                        "SELECT source_slug, path FROM datasette_files_trash").fetchall()
    conn.close()
    assert [row for row in rows if not (tmp_path / row[0] / row[1]).is_file()] == []
    stored = {(slug, path) for slug in slugs for path in api.stored_files(tmp_path / slug)}
    assert stored - set(rows) == set()


@pytest.fixture
def tiny(make_server, tmp_path):
    """"team", and "tiny" that takes files of at most 1,000 bytes."""
    return make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
            "team": source_config(tmp_path / "team"),
            "tiny": source_config(tmp_path / "tiny", max_file_size=1000)}}}})


def test_a_move_to_another_source_keeps_to_its_max_file_size(tiny, tmp_path):
    """An upload of 5,000 bytes to "tiny" is refused (413); moving the file
    there from another source was a way round the limit."""
    with tiny.client(ALICE) as alice:
        big = [api.upload(alice, "team", f"big{n}.bin", b"x" * 5000) for n in range(2)]
        small = api.upload(alice, "team", "small.txt", b"s" * 10)
        body = alice.post("/-/files/-/move", json={
            "ids": ids(big[:1]) + [small["id"]], "source": "tiny"}).json()
        assert [(r["ok"], r.get("status")) for r in body["results"]] == [
            (False, 413), (True, None)], body
        assert "accepts files of at most" in body["errors"][0]
        assert body["results"][0]["max_file_size"] < 5000 == body["results"][0]["size"]
        api.assert_api_error(alice.post(f"/-/files/{big[1]['id']}/-/move",
                                        json={"source": "tiny"}), 413, "The file is 4.9 KiB")
        for file in big:
            assert alice.get(f"/-/files/{file['id']}.json").json()["source_slug"] == "team"
    assert [name for name in api.stored_files(tmp_path / "tiny")
            if name.endswith(".bin")] == []
    assert_whole(tiny, tmp_path, ["team", "tiny"])


@pytest.fixture
def deletes_in_team_only(make_server, tmp_path):
    """Everyone may delete in "team"; only admins in "archive"."""
    return make_server({
        "permissions": {"files-browse": True, "files-upload": True, "files-edit": ADMIN_ONLY,
                        "files-delete": {"team": {"allow": True},
                                         "archive": {"allow": ADMIN_ONLY}}},
        "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
            "team": source_config(tmp_path / "team"),
            "archive": source_config(tmp_path / "archive")}}}})


def test_a_bulk_delete_does_not_trash_a_file_moved_meanwhile_where_it_may_not(
        deletes_in_team_only, tmp_path):
    """A bulk delete checks all its files before it trashes any: a long list
    keeps that window open. Alice may delete in "team", not in "archive"; the
    first of her files is moved to "archive" by an admin after her check and
    before the trashing. It was trashed from "archive" in her name."""
    server = deletes_in_team_only
    with server.client(ADMIN) as admin:
        targets = [api.upload(admin, "team", f"f{n}.txt", b"f") for n in range(10)]
        filler = api.upload_many(admin, "archive", [(f"g{n}.txt", b"g") for n in range(200)])
    # Files she may not delete: each is checked, and each check takes time.
    slow = ids(filler) + [f"df-missing{n}" for n in range(799)]

    def bulk_delete(file_id):
        with server.client(ALICE) as alice:
            return alice.post("/-/files/-/delete", json={"ids": [file_id] + slow}).json()

    overlapped = 0
    for target in ids(targets):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            deleting = pool.submit(bulk_delete, target)
            time.sleep(0.15)
            with server.client(ADMIN) as admin:
                moved = admin.post(f"/-/files/{target}/-/move", json={"source": "archive"})
            result = deleting.result()["results"][0]
        if moved.status_code != 200 or result.get("status") == 403:
            continue  # not interleaved: the delete came first, or checked the moved file
        overlapped += 1
        assert (result["ok"], result.get("status")) == (False, 409), result
        with server.client(ADMIN) as admin:
            assert admin.get(f"/-/files/{target}.json").json()["source_slug"] == "archive"
        if overlapped == 3:
            break
    assert overlapped, "the move never came between the bulk delete's check and its trashing"
    with server.client(ADMIN) as admin:
        assert admin.get("/-/files/trash/archive.json").json()["items"] == []
    assert_whole(server, tmp_path, ["team", "archive"])


def test_a_bulk_move_meeting_a_sync_answers_for_every_file(make_server, tmp_path):
    """Files of two sources moved in one request: the first source's batch
    moves, the second's source is being synced, so its moves are refused.
    The answer was a 409 for the whole request, as if nothing had moved, while
    the first source's files had."""
    share = tmp_path / "share"
    share.mkdir()
    for n in range(20000):  # a walk long enough to still be running
        (share / f"walked{n}.txt").write_bytes(b"w")
    server = make_server({
        "permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
        "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
            "team": source_config(tmp_path / "team"), "share": source_config(share)}}}})
    with server.client(ADMIN) as admin:
        for slug in ("team", "share"):
            assert admin.post(f"/-/files/folders/{slug}/-/create",
                              json={"name": "Done"}).status_code == 201
        mine = [api.upload(admin, "team", f"t{n}.txt", b"t") for n in range(3)]
        theirs = [api.upload(admin, "share", f"s{n}.txt", b"s") for n in range(3)]
        assert admin.post("/-/files/sync/share").status_code == 202
        response = admin.post("/-/files/-/move", json={
            "ids": ids(mine) + ids(theirs), "folder": "Done"})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [(r["ok"], r.get("status")) for r in results] == [(True, None)] * 3 + [
            (False, 409)] * 3, results
        for file in mine:
            assert admin.get(f"/-/files/{file['id']}.json").json()["folder"] == "Done"
        api.wait_for_sync(admin, "share", hashed=False)


@pytest.fixture
def owners_only(make_server, tmp_path):
    """Everyone may browse and upload to "team"; owners edit and delete
    their own files, admins any."""
    return make_server({
        "permissions": {"files-browse": True, "files-upload": True,
                        "files-edit": ADMIN_ONLY, "files-delete": ADMIN_ONLY},
        "plugins": {"datasette-files": {
            "sync_on_start": False, "owners_can_edit": True, "owners_can_delete": True,
            "sources": {"team": source_config(tmp_path / "team"),
                        "archive": source_config(tmp_path / "archive")}}}})


def test_replace_in_a_batch_replaces_only_what_the_actor_may_delete(owners_only, tmp_path):
    """The files a batch may replace are pooled; one file's right to replace
    its namesake must not lend another file the right to replace someone else's."""
    server = owners_only
    with server.client(ADMIN) as admin:
        assert admin.post("/-/files/folders/team/-/create",
                          json={"name": "Done"}).status_code == 201
    with server.client(BOB) as bob:
        bobs = api.upload(bob, "team", "b.txt", b"bob's", folder="Done")
    with server.client(ALICE) as alice:
        old = api.upload(alice, "team", "a.txt", b"old", folder="Done")
        new = [api.upload(alice, "team", name, b"alice's") for name in ("a.txt", "b.txt")]
        body = alice.post("/-/files/-/move", json={
            "ids": ids(new), "folder": "Done", "on_conflict": "replace"}).json()
        assert [(r["ok"], r.get("status")) for r in body["results"]] == [
            (True, None), (False, 403)], body
        assert alice.get(f"/-/files/{old['id']}.json").status_code == 404  # replaced
        assert alice.get(f"/-/files/{bobs['id']}/download").content == b"bob's"
        assert alice.get(f"/-/files/{new[1]['id']}.json").json()["folder"] == ""
    assert_whole(server, tmp_path, ["team", "archive"])


def test_a_name_taken_during_a_bulk_move_with_replace_is_a_conflict_not_a_refusal(
        owners_only, tmp_path):
    """An admin may replace any file. A bulk move with on_conflict=replace checks
    each destination name before moving any file; an upload that takes the
    name meanwhile was never checked, so the move is refused; it was refused as
    a 403 'You may not replace', which is not so: a 409, taken meanwhile."""
    server = owners_only
    with server.client(ADMIN) as admin:
        filler = ids(api.upload_many(admin, "team", [(f"g{n}.txt", b"g") for n in range(200)]))
    slow = [f"df-missing{n}" for n in range(799)]
    refusals = []
    for attempt in range(5):
        with server.client(ADMIN) as admin:
            target = api.upload(admin, "team", f"race{attempt}.txt", b"moved")

            def bulk_move():
                with server.client(ADMIN) as client:
                    return client.post("/-/files/-/move", json={
                        "ids": [target["id"]] + filler + slow, "source": "archive",
                        "on_conflict": "replace"}).json()

            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                moving = pool.submit(bulk_move)
                time.sleep(0.15)
                api.upload(admin, "archive", f"race{attempt}.txt", b"uploaded")
                result = moving.result()["results"][0]
            if not result["ok"]:
                refusals.append(result)
        if len(refusals) >= 2:
            break
    assert refusals, "the upload never came between the bulk move's check and its move"
    assert [r["status"] for r in refusals] == [409] * len(refusals), refusals
    assert_whole(server, tmp_path, ["team", "archive"])


def test_a_batch_of_moves_across_sources_is_bounded_by_its_bytes():
    """A batch holds both sources' locks while it copies: 100 files of 50 MiB
    kept a folder's creation in the source waiting 51 s (bench/bulk_stall.py).
    Copies are batched by bytes too; a move within a source copies nothing."""
    sizes = {f"df-{n}": size for n, size in enumerate(
        [BATCH_BYTES // 2] * 3 + [BATCH_BYTES * 3] + [None, 0, 1])}
    assert batches(sizes, lambda size: "one", lambda size: size or 0) == [
        ["df-0", "df-1"], ["df-2"], ["df-3"], ["df-4", "df-5", "df-6"]]
    many = {f"df-{n}": 1 for n in range(BATCH + 1)}
    assert [len(b) for b in batches(many, lambda size: "one", lambda size: 0)] == [BATCH, 1]
    mixed = {"df-a": ValueError("refused"), "df-b": 5, "df-c": 7}
    assert batches(mixed, lambda size: size % 2, lambda size: 0) == [["df-b", "df-c"]]


def test_a_permanent_delete_racing_a_move_leaves_no_bytes_behind(make_server, tmp_path):
    """A permanent delete took no lock: it read a file's path, a move (under
    the source's lock) took the bytes elsewhere or undid its batch when the
    row vanished, and the delete removed the row and the bytes at a path where
    they no longer were. The bytes stayed on disk with no row (seen in 2 of 4
    rounds of 150 files)."""
    server = make_server({
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
            "team": source_config(tmp_path / "team")}}}})
    with server.client(ADMIN) as admin:
        assert admin.post("/-/files/folders/team/-/create",
                          json={"name": "D"}).status_code == 201

    def post(path, body):
        with server.client(ADMIN) as client:
            response = client.post(path, json=body)
            assert response.status_code == 200, response.text
            return response.json()

    for round_ in range(3):
        with server.client(ADMIN) as admin:
            asked = ids(api.upload_many(admin, "team", [
                (f"r{round_}-{n}.txt", b"x" * 3000) for n in range(150)]))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            moving = pool.submit(post, "/-/files/-/move", {"ids": asked, "folder": "D"})
            deleting = pool.submit(post, "/-/files/-/delete",
                                   {"ids": asked[::-1], "permanent": True})
            moving.result(), deleting.result()
        assert_whole(server, tmp_path, ["team"])


def test_a_batch_undone_for_missing_bytes_and_its_trash_items_restored_one_by_one(
        tiny, tmp_path):
    """One file's bytes were removed by hand: its copy fails midway through
    the batch, which is undone whole and moved file by file (no copy left
    behind, no row without bytes). The files moved are then trashed in one
    request, and each item restores on its own."""
    server = tiny
    with server.client(ADMIN) as admin:
        assert admin.post("/-/files/folders/tiny/-/create",
                          json={"name": "In"}).status_code == 201
        files = [api.upload(admin, "team", f"f{n}.txt", b"%d" % n) for n in range(6)]
        conn = sqlite3.connect(server.internal_db)
        path, = conn.execute("SELECT path FROM datasette_files_files WHERE id = ?",
                             [files[3]["id"]]).fetchone()
        conn.close()
        (tmp_path / "team" / path).unlink()
        body = admin.post("/-/files/-/move", json={
            "ids": ids(files), "source": "tiny", "folder": "In"}).json()
        assert [(r["ok"], r.get("status")) for r in body["results"]] == [
            (True, None)] * 3 + [(False, 404)] + [(True, None)] * 2, body
        moved = [r["id"] for r in body["results"] if r["ok"]]
        assert len(api.stored_files(tmp_path / "tiny")) == 5
        deleted = admin.post("/-/files/-/delete", json={"ids": moved}).json()
        items = [r["trash"] for r in deleted["results"]]
        assert len({item["id"] for item in items}) == 5
        for item in items[::-1]:
            restored = admin.post(item["restore_url"], json={})
            assert restored.status_code == 200, restored.text
            file = restored.json()["file"]
            assert (file["source_slug"], file["folder"]) == ("tiny", "In")
            n = int(file["filename"][1])
            assert admin.get(file["download_url"]).content == b"%d" % n
    conn = sqlite3.connect(server.internal_db)
    conn.execute("DELETE FROM datasette_files_files WHERE id = ?", [files[3]["id"]])
    conn.commit()
    conn.close()
    assert_whole(server, tmp_path, ["team", "tiny"])
