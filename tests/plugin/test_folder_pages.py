"""The source and file pages with folders, over HTTP: one breadcrumb trail, a
folder's own counts, folder cards, and the controls only for those who may."""

import re

import pytest

from support.config import ALICE, BOB
from support.server import DatasetteServer, source_config


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("folder-pages")
    (data / "scans" / "2024").mkdir(parents=True)
    (data / "scans" / "2024" / "receipt.txt").write_text("a receipt")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": ["alice", "bob"]},
                        "files-upload": {"id": "alice"}},
        "plugins": {"datasette-files": {"owners_can_edit": True, "sources": {
            "docs": source_config(data / "docs"),
            "scans": {**source_config(data / "scans"), "read_only": True}}}},
    }).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plans(server):
    """docs: Plans/ holding 2025/ and one file, and a file at the root."""
    with server.client(ALICE) as alice:
        for parent, name in [("", "Plans"), ("Plans", "2025")]:
            created = alice.post("/-/files/folders/docs/-/create",
                                 json={"folder": parent, "name": name})
            assert created.status_code == 201, created.text
        put = alice.put("/-/files/upload/docs/budget.txt", params={"folder": "Plans"},
                        content=b"numbers", headers={"Content-Type": "text/plain"})
        assert put.status_code == 201, put.text
        root = alice.put("/-/files/upload/docs/readme.txt", content=b"hello",
                         headers={"Content-Type": "text/plain"})
        assert root.status_code == 201, root.text
    return {"budget": put.json()["file"], "readme": root.json()["file"]}


def crumbs(html: str) -> list[str]:
    """The breadcrumb trail's labels."""
    trails = re.findall(r'<nav class="df-crumbs" aria-label="Breadcrumb">(.*?)</nav>', html, re.S)
    assert len(trails) == 1, trails
    return [re.sub(r"<[^>]+>", "", label).strip()
            for label in re.findall(r"<(?:a|span)[^>]*>(.*?)</(?:a|span)>", trails[0])
            if label.strip() != "›"]


def test_a_folder_page(server, plans):
    with server.client(ALICE) as alice:
        page = alice.get("/-/files/source/docs", params={"folder": "Plans"}).text
    assert crumbs(page) == ["Files", "docs", "Plans"]
    assert "df-folder-path" not in page
    assert "<h1>Plans</h1>" in page
    assert "1 file · 1 folder</p>" in page  # its own counts, not the source's
    assert 'data-folder-path="Plans/2025"' in page and "budget.txt" in page
    assert "readme.txt" not in page
    # Uploads go into the folder; New folder and the folder's menu are offered.
    assert re.search(r'<section class="df-upload" data-upload [^>]*data-folder="Plans"', page)
    assert "data-new-folder" in page and 'aria-label="Actions for 2025"' in page


def test_the_root_shows_the_sources_count_and_its_folders(server, plans):
    with server.client(ALICE) as alice:
        page = alice.get("/-/files/source/docs").text
    assert crumbs(page) == ["Files", "docs"]
    assert "2 files in all · 1 folder" in page
    # The folder card comes before the files.
    assert page.index('data-folder-path="Plans"') < page.index("readme.txt")
    assert 'data-folder=""' in page


def test_a_folder_of_folders_is_not_empty(server, plans):
    with server.client(ALICE) as alice:
        created = alice.post("/-/files/folders/docs/-/create",
                             json={"folder": "Plans/2025", "name": "Q1"})
        assert created.status_code == 201, created.text
        holding = alice.get("/-/files/source/docs", params={"folder": "Plans/2025"}).text
        empty = alice.get("/-/files/source/docs", params={"folder": "Plans/2025/Q1"}).text
    assert "df-empty" not in holding and "0 files · 1 folder" in holding
    assert "This folder is empty." in empty and "has no files" not in empty


def test_an_unknown_folder_is_a_404(server, plans):
    with server.client(ALICE) as alice:
        assert alice.get("/-/files/source/docs", params={"folder": "Nope"}).status_code == 404


def test_no_controls_without_upload_permission(server, plans):
    with server.client(BOB) as bob:
        page = bob.get("/-/files/source/docs", params={"folder": "Plans"}).text
        file_page = bob.get(plans["budget"]["url"]).text
    assert 'data-folder-path="Plans/2025"' in page
    for control in ("data-upload", "data-new-folder", "data-menu-button", "data-organise"):
        assert control not in page, control
    assert "data-rename-file" not in file_page and "data-move-file" not in file_page


def test_no_controls_on_a_read_only_source(server):
    with server.client(ALICE) as alice:
        root = alice.get("/-/files/source/scans").text
        folder = alice.get("/-/files/source/scans", params={"folder": "2024"}).text
        listing = alice.get("/-/files/source/scans.json", params={"folder": "2024"}).json()
        file_page = alice.get(listing["files"][0]["url"]).text
    assert 'data-folder-path="2024"' in root
    for page in (root, folder):
        for control in ("data-upload", "data-new-folder", "data-menu-button"):
            assert control not in page, control
    assert "data-rename-file" not in file_page and "data-move-file" not in file_page


def test_a_file_page_shows_its_folder(server, plans):
    with server.client(ALICE) as alice:
        page = alice.get(plans["budget"]["url"]).text
    assert crumbs(page) == ["Files", "docs", "Plans", "budget.txt"]
    assert 'href="/-/files/source/docs?folder=Plans"' in page
    # Its owner may rename it, and move it to the sources she may upload to.
    assert "data-rename-file" in page and 'data-move-targets="docs"' in page


def test_a_renamed_folder_keeps_its_count(server):
    with server.client(ALICE) as alice:
        assert alice.post("/-/files/folders/docs/-/create",
                          json={"name": "Drafts"}).status_code == 201
        assert alice.put("/-/files/upload/docs/one.txt", params={"folder": "Drafts"},
                         content=b"one").status_code == 201
        assert alice.post("/-/files/folders/docs/-/move",
                          json={"path": "Drafts", "name": "Final"}).status_code == 200
        page = alice.get("/-/files/source/docs", params={"folder": "Final"}).text
    assert "1 file</p>" in page
