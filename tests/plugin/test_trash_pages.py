"""The trash pages over HTTP: who sees the trash, and the page of a file in it."""

import pytest

from support import api
from support.config import ADMIN, ALICE, BOB
from support.server import DatasetteServer, source_config

CAROL = {"id": "carol"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Everyone browses docs; alice and bob upload; admin deletes anything; owners
    # delete their own. Carol only browses. "shelf" is read-only.
    data = tmp_path_factory.mktemp("trash-pages")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": ["alice", "bob", "carol", "admin"]},
                        "files-upload": {"id": ["alice", "bob", "admin"]},
                        "files-delete": {"id": "admin"}},
        "plugins": {"datasette-files": {
            "owners_can_delete": True,
            "sources": {"docs": source_config(data / "docs"),
                        "shelf": {**source_config(data / "shelf"), "read_only": True}}}},
    }).start()
    yield server
    server.stop()


def trashed(server, name: str, folder: str = "") -> dict:
    """A file alice uploaded and deleted."""
    with server.client(ALICE) as alice:
        if folder:
            alice.post("/-/files/folders/docs/-/create",
                       json={"name": folder, "on_conflict": "rename"})
        response = alice.put(f"/-/files/upload/docs/{name}", params={"folder": folder},
                             content=b"some words", headers={"Content-Type": "text/plain"})
        assert response.status_code == 201, response.text
        file = response.json()["file"]
        deleted = alice.post(f"{file['url']}/-/delete", json={})
        assert deleted.status_code == 200, deleted.text
        return file


@pytest.mark.parametrize("actor, status, whole", [
    (ADMIN, 200, True), (ALICE, 200, False), (CAROL, 200, False), (None, 403, False)])
def test_who_sees_the_trash_page(server, actor, status, whole):
    # With owners_can_delete, whoever may browse sees their own files' items.
    with server.client(actor) as client:
        page = client.get("/-/files/trash/docs")
        assert page.status_code == status, page.text[-300:]
        if status == 200:
            assert ("You see the ones you uploaded" not in page.text) is whole
        source = client.get("/-/files/source/docs")
        assert ('href="/-/files/trash/docs"' in source.text) is (status == 200)


def test_no_trash_page_without_owners_or_a_delete_grant(make_server, tmp_path):
    server = make_server({
        "permissions": {"files-browse": {"id": ["alice", "admin"]},
                        "files-delete": {"id": "admin"}},
        "plugins": {"datasette-files": {"sources": {"docs": source_config(tmp_path / "d")}}},
    })
    with server.client(ALICE) as alice:
        assert alice.get("/-/files/trash/docs").status_code == 403
        assert 'href="/-/files/trash/docs"' not in alice.get("/-/files/source/docs").text
    with server.client(ADMIN) as admin:
        assert admin.get("/-/files/trash/docs").status_code == 200


def test_a_read_only_source_and_an_unknown_one_have_no_trash(server):
    with server.client(ADMIN) as admin:
        assert admin.get("/-/files/trash/shelf").status_code == 403
        assert 'href="/-/files/trash/shelf"' not in admin.get("/-/files/source/shelf").text
        assert admin.get("/-/files/trash/nosuch").status_code == 404


def test_the_page_of_a_file_in_the_trash(server):
    file = trashed(server, "Plan <b>.txt", folder="Reports")
    with server.client(ALICE) as alice:
        page = alice.get(file["url"])
    # 404: the file is not at its address (its JSON and download say the same).
    assert page.status_code == 404
    assert "Plan &lt;b&gt;.txt is in the trash" in page.text and "<b>" not in page.text
    assert "alice deleted it" in page.text and "deleted for good on" in page.text
    assert "?folder=Reports" in page.text
    assert "data-restore>" in page.text and 'href="/-/files/trash/docs"' in page.text


def test_who_may_restore_from_a_trashed_files_page(server):
    file = trashed(server, "minutes.txt")
    with server.client(BOB) as bob:  # browses, but may not delete alice's files
        page = bob.get(file["url"])
        assert page.status_code == 404 and "minutes.txt is in the trash" in page.text
        assert "data-restore>" not in page.text
        assert "Ask someone who may delete files in docs" in page.text
    with server.client(ADMIN) as admin:
        assert "data-restore>" in admin.get(file["url"]).text
    with server.client() as anonymous:
        # Those who may not browse the source learn nothing about the file.
        page = anonymous.get(file["url"])
        assert page.status_code == 404 and "in the trash" not in page.text
