"""The bulk bar of the source and search pages, over HTTP: Download for anyone
who may browse, Move and Delete only for those who may do them to some files,
and never on a read-only source."""

import re

import pytest

from support.config import ALICE, BOB
from support.server import DatasetteServer, source_config

CAROL = {"id": "carol"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("bulk-bar")
    (data / "scans").mkdir()
    (data / "scans" / "receipt.txt").write_text("a receipt")
    server = DatasetteServer(data, {
        # alice: everything; bob: browse and upload, his own files as an owner;
        # carol: browse only (owners_can_* need an upload of her own to matter).
        "permissions": {"files-browse": {"id": ["alice", "bob", "carol"]},
                        "files-upload": {"id": ["alice", "bob"]},
                        "files-edit": {"id": "alice"}, "files-delete": {"id": "alice"}},
        "plugins": {"datasette-files": {"owners_can_edit": False, "owners_can_delete": False,
                                        "sources": {
            "docs": source_config(data / "docs"),
            "scans": {**source_config(data / "scans"), "read_only": True}}}},
    }).start()
    with server.client(ALICE) as alice:
        put = alice.put("/-/files/upload/docs/plan.txt", content=b"plan",
                        headers={"Content-Type": "text/plain"})
        assert put.status_code == 201, put.text
    yield server
    server.stop()


def bar(html: str) -> list[str]:
    """The bulk bar's buttons, by their data- attribute."""
    found = re.findall(r'<div class="df-bulk" data-bulk hidden.*?</form>', html, re.S)
    assert len(found) == 1, html[-2000:]
    return re.findall(r"data-bulk-(download|move|delete)>", found[0])


@pytest.mark.parametrize("actor,source,buttons", [
    (ALICE, "docs", ["download", "move", "delete"]),
    (BOB, "docs", ["download"]),      # not his file, and no owners' rights here
    (CAROL, "docs", ["download"]),
    (ALICE, "scans", ["download"]),   # read-only: nothing changes there
])
def test_the_bar_offers_what_the_actor_may_do(server, actor, source, buttons):
    with server.client(actor) as client:
        page = client.get(f"/-/files/source/{source}")
    assert page.status_code == 200, page.text
    assert bar(page.text) == buttons
    # A checkbox per file card, named after its file.
    assert re.search(r'<input type="checkbox" data-select value="df-[^"]+" aria-label="Select '
                     r'(plan|receipt)\.txt">', page.text)


def test_a_move_offers_the_sources_the_actor_may_upload_to(server):
    with server.client(ALICE) as alice:
        page = alice.get("/-/files/source/docs").text
    assert 'data-move-targets="docs"' in page  # scans is read-only


def test_the_search_page_has_the_bar_for_its_results(server):
    with server.client(ALICE) as alice:
        page = alice.get("/-/files/search", params={"q": "plan"}).text
    assert bar(page) == ["download", "move", "delete"]
    with server.client(CAROL) as carol:
        assert bar(carol.get("/-/files/search", params={"q": "plan"}).text) == ["download"]


def test_no_bar_without_files(server):
    with server.client(ALICE) as alice:
        page = alice.get("/-/files/search", params={"q": "nothing-matches-this"}).text
    assert "data-bulk" not in page
