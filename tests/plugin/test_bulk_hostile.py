"""POST /-/files/-/delete and /-/files/-/move against a hostile or careless
client: limits of the destination, rights checked long before the files are
acted on, names taken meanwhile. Each test is a hole found by trying it."""

import concurrent.futures
import sqlite3
import time

import pytest

from support import api
from support.config import ADMIN, ALICE, OPEN_PERMISSIONS
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
        assert "max_file_size" in body["errors"][0]
        api.assert_api_error(alice.post(f"/-/files/{big[1]['id']}/-/move",
                                        json={"source": "tiny"}), 413, "max_file_size")
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
        filler = [api.upload(admin, "archive", f"g{n}.txt", b"g") for n in range(200)]
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
