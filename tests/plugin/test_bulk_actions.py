"""POST /-/files/-/delete and /-/files/-/move: many files in one request, one
result per file, a refusal of one file leaving the others done."""

import pytest

from support import api
from support.config import ADMIN, ALICE, BOB
from support.server import source_config

ADMIN_ONLY = {"roles": "admin"}


@pytest.fixture
def team(make_server, tmp_path):
    """Alice and Bob each uploaded files to "team"; everyone may browse and
    upload, and only admins delete and edit, but owners may delete and edit
    their own files."""
    server = make_server({
        "permissions": {"files-browse": True, "files-upload": True,
                        "files-edit": ADMIN_ONLY, "files-delete": ADMIN_ONLY},
        "plugins": {"datasette-files": {
            "owners_can_edit": True, "owners_can_delete": True,
            "sources": {"team": source_config(tmp_path / "team"),
                        "archive": source_config(tmp_path / "archive"),
                        "frozen": {**source_config(tmp_path / "frozen"), "read_only": True}}}}})
    files = {}
    with server.client(ALICE) as alice:
        alice.post("/-/files/folders/team/-/create", json={"name": "Done"})
        files["alice"] = [api.upload(alice, "team", f"a{n}.txt", b"a%d" % n) for n in range(3)]
    with server.client(BOB) as bob:
        files["bob"] = [api.upload(bob, "team", f"b{n}.txt", b"b%d" % n) for n in range(2)]
    return server, files


def ids(files) -> list[str]:
    return [file["id"] for file in files]


def test_bulk_delete_moves_every_file_to_the_trash(team):
    server, files = team
    with server.client(ADMIN) as admin:
        response = admin.post("/-/files/-/delete", json={"ids": ids(files["alice"])})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True and body["errors"] == []
        assert [r["id"] for r in body["results"]] == ids(files["alice"])
        assert all(r["ok"] and r["deleted"] == r["id"] and r["trash"]["id"]
                   for r in body["results"])
        assert admin.get(f"/-/files/{files['alice'][0]['id']}.json").status_code == 404
        trashed = admin.get("/-/files/trash/team.json").json()
        assert len(trashed["items"]) == 3


def test_bulk_delete_with_partial_permission_deletes_what_it_may(team):
    server, files = team
    asked = [files["alice"][0]["id"], files["bob"][0]["id"], "df-nosuchfile", files["alice"][1]["id"]]
    with server.client(ALICE) as alice:
        response = alice.post("/-/files/-/delete", json={"ids": asked})
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["ok"] is False
    outcome = {r["id"]: (r["ok"], r.get("status")) for r in body["results"]}
    assert outcome == {asked[0]: (True, None), asked[1]: (False, 403),
                       asked[2]: (False, 404), asked[3]: (True, None)}
    assert [r["id"] for r in body["results"]] == asked
    assert any(error.startswith(asked[1] + ": ") for error in body["errors"])
    with server.client(ADMIN) as admin:
        assert admin.get(f"/-/files/{asked[1]}.json").status_code == 200  # Bob's stays
        assert admin.get(f"/-/files/{asked[0]}.json").status_code == 404


def test_bulk_permanent_delete_removes_the_bytes(team, tmp_path):
    server, files = team
    with server.client(ADMIN) as admin:
        body = admin.post("/-/files/-/delete",
                          json={"ids": ids(files["bob"]), "permanent": True}).json()
        assert body["ok"] and all(r["trash"] is None for r in body["results"])
        assert admin.get("/-/files/trash/team.json").json()["items"] == []
    stored = api.stored_files(tmp_path / "team")
    assert not any(name.endswith(("b0.txt", "b1.txt")) for name in stored), stored
    assert sum(name.endswith(".txt") for name in stored) == 3  # alice's stay


def test_bulk_move_to_a_folder_and_to_another_source(team):
    server, files = team
    with server.client(ADMIN) as admin:
        body = admin.post("/-/files/-/move", json={
            "ids": ids(files["alice"]), "folder": "Done"}).json()
        assert body["ok"], body
        assert {r["file"]["folder"] for r in body["results"]} == {"Done"}
        assert [r["file"]["filename"] for r in body["results"]] == ["a0.txt", "a1.txt", "a2.txt"]
        body = admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "source": "archive"}).json()
        assert body["ok"], body
        for result in body["results"]:
            assert result["file"]["source_slug"] == "archive"
            assert admin.get(f"/-/files/{result['file']['id']}/download").content.startswith(b"b")


def test_bulk_move_with_partial_permission_and_conflicts(team):
    server, files = team
    with server.client(ADMIN) as admin:
        api.upload(admin, "team", "a0.txt", b"already there", folder="Done")
    asked = ids(files["alice"][:2]) + [files["bob"][0]["id"]]
    with server.client(ALICE) as alice:
        body = alice.post("/-/files/-/move", json={
            "ids": asked, "folder": "Done", "on_conflict": "error"}).json()
    statuses = [(r["ok"], r.get("status")) for r in body["results"]]
    assert statuses == [(False, 409), (True, None), (False, 403)], body
    assert body["ok"] is False and len(body["errors"]) == 2


def test_a_bulk_action_on_a_read_only_source_is_refused_per_file(team, tmp_path):
    server, files = team
    with server.client(ADMIN) as admin:
        body = admin.post("/-/files/-/move", json={
            "ids": [files["alice"][0]["id"]], "source": "frozen"}).json()
    assert body["ok"] is False
    assert body["results"][0]["status"] == 403, body
    assert "read-only" in body["errors"][0]


def test_duplicate_ids_are_acted_on_once(team):
    server, files = team
    file_id = files["alice"][0]["id"]
    with server.client(ADMIN) as admin:
        body = admin.post("/-/files/-/delete", json={"ids": [file_id, file_id]}).json()
    assert body["ok"] and [r["id"] for r in body["results"]] == [file_id]


@pytest.mark.parametrize("path", ["/-/files/-/delete", "/-/files/-/move"])
@pytest.mark.parametrize("payload, fragment", [
    ({}, "'ids' is required"),
    ({"ids": []}, "'ids' is required"),
    ({"ids": "df-x"}, "'ids' is required"),
    ({"ids": [1, 2]}, "'ids' is required"),
    ({"ids": ["df-x"] * 1001 + [str(n) for n in range(1001)]}, "At most 1,000"),
])
def test_bad_bulk_requests_are_json_400s(team, path, payload, fragment):
    server, _ = team
    if path.endswith("move") and payload:
        payload = {**payload, "folder": "Done"}
    with server.client(ADMIN) as admin:
        api.assert_api_error(admin.post(path, json=payload), 400, fragment)


def test_bulk_move_needs_a_destination_and_keeps_names(team):
    server, files = team
    with server.client(ADMIN) as admin:
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"])}), 400, "Say where")
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "folder": "Done", "filename": "x.txt"}), 400, "'filename'")
        # A bad destination is the request's error, said once, not once per file.
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "folder": "Done", "on_conflict": "merge"}), 400)
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "folder": "../up"}), 400)
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "source": 7}), 400, "'source'")
        api.assert_api_error(admin.get("/-/files/-/delete"), 405)
        api.assert_api_error(admin.post("/-/files/-/delete", json={
            "ids": ids(files["bob"]), "permanent": "yes"}), 400, "'permanent'")


def test_anonymous_may_browse_here_but_deletes_nothing(team):
    """Browsing is open to all in this config: each file is refused (403), none deleted."""
    server, files = team
    with server.client(None) as anonymous:
        body = anonymous.post("/-/files/-/delete", json={"ids": ids(files["bob"])}).json()
    assert [r["status"] for r in body["results"]] == [403, 403], body
    with server.client(ADMIN) as admin:
        assert all(admin.get(f"/-/files/{i}.json").status_code == 200 for i in ids(files["bob"]))


def test_two_files_of_one_name_moved_together_with_on_conflict_error(team, tmp_path):
    """Both pass the check before the move; the second meets the first in the
    folder. The batch is undone whole and each file moved alone: the first
    moves, the second is refused, and both still download."""
    server, _ = team
    with server.client(ADMIN) as admin:
        admin.post("/-/files/folders/team/-/create", json={"name": "Other"})
        first = api.upload(admin, "team", "same.txt", b"first")
        second = api.upload(admin, "team", "same.txt", b"second", folder="Other")
        body = admin.post("/-/files/-/move", json={
            "ids": [first["id"], second["id"]], "folder": "Done",
            "on_conflict": "error"}).json()
        assert [(r["ok"], r.get("status")) for r in body["results"]] == [(True, None),
                                                                        (False, 409)], body
        assert admin.get(f"/-/files/{first['id']}.json").json()["folder"] == "Done"
        assert admin.get(f"/-/files/{second['id']}.json").json()["folder"] == "Other"
        assert admin.get(f"/-/files/{first['id']}/download").content == b"first"
        assert admin.get(f"/-/files/{second['id']}/download").content == b"second"
        # With the default (rename), the two land together, the second numbered.
        body = admin.post("/-/files/-/move", json={
            "ids": [second["id"]], "folder": "Done"}).json()
        assert body["results"][0]["file"]["filename"] == "same (1).txt"
    names = sorted(p.name for p in (tmp_path / "team" / "Done").iterdir())
    assert len(names) == 2, names  # nothing left behind by the undone batch


def test_a_bulk_move_of_many_files_keeps_every_file(team, tmp_path):
    """More files than one batch holds, mixed with files the actor may not move."""
    server, files = team
    with server.client(BOB) as bob:
        mine = api.upload_many(bob, "team", [(f"many{n}.txt", b"%d" % n) for n in range(120)])
        asked = ids(mine) + ids(files["alice"])
        body = bob.post("/-/files/-/move", json={"ids": asked, "folder": "Done"}).json()
    assert [r["ok"] for r in body["results"]] == [True] * 120 + [False] * 3
    with server.client(ADMIN) as admin:
        listed = admin.get("/-/files/source/team.json?folder=Done&limit=200").json()
        assert len(listed["files"]) == 120
        assert admin.get(f"/-/files/{mine[119]['id']}/download").content == b"119"


def test_a_bulk_move_to_an_unknown_source_is_the_requests_error(team):
    """The contract: an unknown destination is a request-level 4xx, said once,
    not a 200 with the same 404 repeated for every file."""
    server, files = team
    with server.client(ADMIN) as admin:
        api.assert_api_error(admin.post("/-/files/-/move", json={
            "ids": ids(files["bob"]), "source": "nosuch"}), 404, "nosuch")


def test_a_file_replaced_by_another_of_its_batch_is_not_reported_moved(team):
    """B already sits in Done as n.txt; A (n.txt too) moves in with replace.
    B goes to the trash, and its result must say so, not that it moved."""
    server, _ = team
    with server.client(ADMIN) as admin:
        admin.post("/-/files/folders/team/-/create", json={"name": "P"})
        a = api.upload(admin, "team", "n.txt", b"A", folder="P")
        b = api.upload(admin, "team", "n.txt", b"B", folder="Done")
        body = admin.post("/-/files/-/move", json={
            "ids": [a["id"], b["id"]], "folder": "Done", "on_conflict": "replace"}).json()
        results = {r["id"]: r for r in body["results"]}
        assert results[a["id"]]["ok"] and results[a["id"]]["file"]["folder"] == "Done"
        assert admin.get(f"/-/files/{b['id']}.json").status_code == 404  # in the trash
        assert results[b["id"]]["ok"] is False, body
        assert body["ok"] is False
