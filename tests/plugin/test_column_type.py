"""The `file` column type: rendering and validation in a real table."""

import sqlite3

import pytest

from support import api
from support.config import ADMIN, ALICE, BOB
from support.server import DatasetteServer, source_config


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("columns")
    db = data / "data.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, title TEXT, attachment TEXT)")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, scan TEXT)")
    conn.commit()
    conn.close()
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": ["alice", "admin"]},
                        "files-upload": {"id": "alice"}, "files-delete": {"id": "alice"},
                        "insert-row": {"id": "alice"}, "view-table": True,
                        "set-column-type": {"id": "alice"}},
        "databases": {"data": {"tables": {"attachments": {
            "column_types": {"attachment": "file"}}}}},
        "plugins": {"datasette-files": {"sources": {"docs": source_config(data / "docs")}}},
    }, extra_args=[str(db)]).start()
    yield server
    server.stop()


def test_cells_render_as_datasette_file_elements(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "contract.pdf", b"%PDF", "application/pdf")
        inserted = alice.post("/data/attachments/-/insert", json={
            "row": {"title": "Contract", "attachment": file["id"]}})
        assert inserted.status_code == 201, inserted.text
        page = alice.get("/data/attachments")
    assert f'<datasette-file file-id="{file["id"]}">{file["id"]}</datasette-file>' in page.text
    assert "/-/static-plugins/datasette-files/datasette-file.js" in page.text
    # The server renders only the id: whether the viewer may see the file is
    # decided by batch.json, so nothing about the file is in the page itself.
    assert "contract.pdf" not in page.text


def test_validation_refuses_what_is_not_a_registered_file(server):
    with server.client(ALICE) as alice:
        bad = alice.post("/data/attachments/-/insert",
                         json={"row": {"title": "x", "attachment": "not-an-id"}})
        assert bad.status_code == 400 and "file id like df-" in bad.text
        missing = alice.post("/data/attachments/-/insert", json={
            "row": {"title": "x", "attachment": "df-01aaaaaaaaaaaaaaaaaaaaaaaa"}})
        assert missing.status_code == 400 and "No file has the id" in missing.text
        empty = alice.post("/data/attachments/-/insert", json={"row": {"title": "no file"}})
        assert empty.status_code == 201


def test_batch_hides_what_the_viewer_may_not_browse(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "secret.txt", b"s")
    with server.client(BOB) as bob:
        assert bob.get("/-/files/batch.json", params={"id": file["id"]}).json()["files"] == {}
    with server.client(ADMIN) as admin:
        assert file["id"] in admin.get("/-/files/batch.json",
                                       params={"id": file["id"]}).json()["files"]


def test_batch_says_which_files_are_in_the_trash(server):
    """A cell marks a trashed file as such; an unknown id, or one the viewer
    may not browse, is in neither part of the answer."""
    with server.client(ALICE) as alice:
        kept = api.upload(alice, "docs", "kept.txt", b"k")
        binned = api.upload(alice, "docs", "binned.txt", b"b")
        assert alice.post(f"/-/files/{binned['id']}/-/delete", json={}).status_code == 200
        unknown = "df-01aaaaaaaaaaaaaaaaaaaaaaaa"
        answer = alice.get("/-/files/batch.json",
                           params={"id": [kept["id"], binned["id"], unknown]}).json()
    assert list(answer["files"]) == [kept["id"]]
    assert list(answer["trashed"]) == [binned["id"]]
    assert answer["trashed"][binned["id"]]["trashed_at"]
    with server.client(BOB) as bob:
        assert bob.get("/-/files/batch.json", params={"id": binned["id"]}).json() == {
            "ok": True, "files": {}, "trashed": {}}


def test_assigning_the_type_at_runtime(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "scan.png", b"png")
        db = sqlite3.connect(server.data_dir / "data.db")
        db.execute("INSERT INTO notes (scan) VALUES (?)", [file["id"]])
        db.commit()
        db.close()
        marker = f'<datasette-file file-id="{file["id"]}">'
        assert marker not in alice.get("/data/notes").text
        body = {"column": "scan", "column_type": {"type": "file"}}
        with server.client(BOB) as bob:
            assert bob.post("/data/notes/-/set-column-type", json=body).status_code == 403
        assigned = alice.post("/data/notes/-/set-column-type", json=body)
        assert assigned.status_code == 200, assigned.text
        assert marker in alice.get("/data/notes").text
