"""The HTML pages over HTTP: permissions, content and the file_actions hook."""

import pytest

from support import api
from support.config import ALICE, BOB
from support.server import DatasetteServer, source_config


@pytest.fixture(scope="module")
def server(testthumbs_site, tmp_path_factory):
    data = tmp_path_factory.mktemp("pages")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": ["alice", "bob"]},
                        "files-upload": {"id": "alice"}},
        "plugins": {"datasette-files": {"sources": {
            "docs": source_config(data / "docs")}}},
    }, env={"PYTHONPATH": str(testthumbs_site)}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pdf(server):
    with server.client(ALICE) as alice:
        return api.upload(alice, "docs", "Plan <img src=x onerror=alert(1)>.pdf", b"%PDF-1.7 " + b"x" * 5000,
                          "application/pdf")


def test_pages_for_a_member(server, pdf):
    with server.client(ALICE) as alice:
        index = alice.get("/-/files")
        assert index.status_code == 200
        assert "/-/files/source/docs" in index.text and "1 file" in index.text
        assert 'href="/-/files/upload/docs"' in index.text
        source = alice.get("/-/files/source/docs?sort=name&order=asc")
        assert source.status_code == 200 and "data-upload" in source.text
        assert alice.get("/-/files/upload/docs").status_code == 200
        page = alice.get(pdf["url"])
        assert page.status_code == 200
        # The filename is escaped, never markup.
        assert "Plan &lt;img src=x onerror=alert(1)&gt;.pdf" in page.text
        assert "<img src=x" not in page.text
        search = alice.get("/-/files/search", params={"q": "plan"})
        assert "<mark>Plan</mark>" in search.text
        home = alice.get("/").text
        assert 'href="/-/files"' in home  # the menu link
        assert 'id="df-home-title"' in home and 'href="/-/files/source/docs"' in home


def test_file_actions_from_a_plugin(server, pdf):
    with server.client(ALICE) as alice:
        page = alice.get(pdf["url"]).text
    assert f'href="/-/convert/{pdf["id"]}"' in page
    assert "saw 2048 bytes of docs" in page


def test_upload_ui_only_for_those_who_may_upload(server, pdf):
    with server.client(BOB) as bob:
        index = bob.get("/-/files")
        assert "/-/files/source/docs" in index.text
        assert 'href="/-/files/upload/docs"' not in index.text
        assert "data-upload" not in bob.get("/-/files/source/docs").text
        assert bob.get("/-/files/upload/docs").status_code == 403
        assert bob.get(pdf["url"]).status_code == 200


def test_anonymous_sees_nothing(server, pdf):
    with server.client() as anonymous:
        index = anonymous.get("/-/files")
        assert index.status_code == 403 and "no file sources you may browse" in index.text
        assert anonymous.get("/-/files/source/docs").status_code == 403
        assert anonymous.get(pdf["url"]).status_code == 404
        assert anonymous.get("/-/files/source/nosuch").status_code == 404
        home = anonymous.get("/").text
        assert 'href="/-/files"' not in home and "df-home-title" not in home
