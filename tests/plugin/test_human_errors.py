"""Errors in human terms over HTTP: sizes in units, a refused import form that
comes back filled in, and error pages that keep the signed-in member's header
and say what to do next. One server for the module."""

import re
import sqlite3

import pytest

from support import api
from support.config import ALICE, BOB
from support.server import DatasetteServer, source_config

# Bob only browses (not "private", alice's alone): he sees 403s. Alice browses,
# uploads, deletes and imports.
BOTH = {"allow": {"id": ["alice", "bob"]}}
PERMISSIONS = {"files-browse": {"docs": BOTH, "small": BOTH,
                                "private": {"allow": {"id": "alice"}}},
               "files-upload": {"id": ["alice"]},
               "files-delete": {"id": ["alice"]},
               "create-table": {"id": ["alice"]},
               "insert-row": {"id": ["alice"]},
               "view-table": True}
LIMIT = 3 * 1024 * 1024  # the "small" source takes files of at most 3.0 MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("human-errors")
    sqlite3.connect(data / "data.db").close()
    server = DatasetteServer(data, {
        "permissions": PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {
            "docs": source_config(data / "docs"),
            "small": source_config(data / "small", max_file_size=LIMIT),
            "private": source_config(data / "private")}}},
    }, extra_args=[str(data / "data.db")]).start()
    yield server
    server.stop()


def header_shows(page_html: str, actor_id: str) -> bool:
    """Whether Datasette's header names the signed-in actor and has its menu."""
    header = page_html.split("</header>")[0]
    return (f"<strong>{actor_id}</strong>" in header and 'class="nav-menu' in header
            and 'href="/-/files"' in header)


def test_size_limits_speak_in_units(server):
    with server.client(ALICE) as alice:
        over = api.prepare(alice, "small", "big.bin", LIMIT + 512 * 1024)
        body = api.assert_api_error(over, 413, "3.5 MiB", "accepts files of at most 3.0 MiB")
        # The exact numbers stay beside the words, for clients.
        assert body["size"] == LIMIT + 512 * 1024 and body["max_file_size"] == LIMIT
        assert "bytes" not in " ".join(body["errors"])
        # One byte over: units would show the two sizes equal, so bytes it is.
        api.assert_api_error(api.prepare(alice, "small", "edge.bin", LIMIT + 1), 413,
                             "3,145,729 bytes", "at most 3,145,728 bytes")


def test_an_existing_table_name_gives_the_form_back_filled_in(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "Sales.csv", b"region,units\nnorth,3\n", "text/csv")
        sqlite3.connect(server.data_dir / "data.db").execute(
            "create table taken (id integer)").connection.close()
        page = alice.post(f"/-/files/import/{file['id']}",
                          data={"database": "data", "table_name": "taken",
                                "delimiter": ",", "has_header": "1"})
    assert page.status_code == 409
    assert page.headers["content-type"].startswith("text/html")
    assert "A table named &#39;taken&#39; already exists in &#39;data&#39;: " \
           "choose another name" in page.text
    form = page.text.split('<form class="df-import-form')[1].split("</form>")[0]
    assert re.search(r'<input id="df-table-name" name="table_name" value="taken"[^>]*'
                     r'aria-invalid="true"', form), form
    assert "<option selected>data</option>" in form
    assert header_shows(page.text, "alice")


def test_a_bad_table_name_is_refused_in_the_form(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "Other.csv", b"a,b\n1,2\n", "text/csv")
        page = alice.post(f"/-/files/import/{file['id']}",
                          data={"database": "data", "table_name": "no good!"})
    assert page.status_code == 400 and 'value="no good!"' in page.text
    assert "The table name must be letters, digits and underscores" in page.text


def test_a_deleted_file_page_says_so_in_human_terms(server):
    with server.client(ALICE) as alice:
        file = api.upload(alice, "docs", "gone.txt", b"words", "text/plain")
        assert alice.post(f"{file['url']}/-/delete", json={"permanent": True}).status_code == 200
        for url in (file["url"], "/-/files/df-00000000000000000000000000"):
            page = alice.get(url)
            assert page.status_code == 404, url
            assert "This file no longer exists, or you may not see it." in page.text
            assert "Error 404" not in page.text
            assert 'href="/-/files/search"' in page.text and header_shows(page.text, "alice")


@pytest.mark.parametrize("path, status, says", [
    ("/-/files/source/nosuch", 404, "Source not found: nosuch"),
    ("/-/files/nothing/here", 404, "There is no page at this address."),
    ("/-/files/source/docs?sort=nonsense", 400, "This page could not be shown with the options"),
    ("/-/files/source/docs?page=abc", 400, "&#39;page&#39; must be a whole number"),
])
def test_error_pages_keep_the_header_and_say_what_next(server, path, status, says):
    with server.client(ALICE) as alice:
        page = alice.get(path)
    assert page.status_code == status, page.text[-500:]
    assert says in page.text and "What you can do" in page.text
    assert header_shows(page.text, "alice")
    assert "Go to the Files page" in page.text


def test_a_forbidden_source_page_keeps_the_header(server):
    with server.client(BOB) as bob:
        upload = bob.get("/-/files/upload/docs")
        trash = bob.get("/-/files/trash/docs")
    for answer in (upload, trash):
        assert answer.status_code == 403
        assert "You may not do this here." in answer.text
        assert "You are signed in as bob" in answer.text
        assert header_shows(answer.text, "bob")
        # The source bob may browse is one click away.
        assert 'href="/-/files/source/docs">Back to docs</a>' in answer.text


def test_json_errors_stay_json(server):
    with server.client(ALICE) as alice:
        api.assert_api_error(alice.get("/-/files/df-00000000000000000000000000.json"), 404,
                             "There is no file")
        api.assert_api_error(alice.get("/-/files/source/nosuch.json"), 404, "Source not found")


def test_a_missing_file_says_what_happened_and_what_to_do_and_cannot_be_probed(server):
    """One answer for a file deleted, never made, or in a source one may not
    browse: it says, in words, what may have happened and where to look."""
    with server.client(ALICE) as alice:
        deleted = api.upload(alice, "docs", "deleted.txt", b"gone soon", "text/plain")
        assert alice.post(f"/-/files/{deleted['id']}/-/delete", json={}).status_code == 200
        hidden = api.upload(alice, "private", "alices.txt", b"not bob's", "text/plain")
    never = "df-" + "1" * 26
    with server.client(BOB) as bob:
        answers = {}
        for name, file_id in (("deleted", deleted["id"]), ("never", never),
                              ("hidden", hidden["id"])):
            for suffix in (".json", "/download", "/thumbnail"):
                body = api.assert_api_error(bob.get(f"/-/files/{file_id}{suffix}"), 404)
                answers[name, suffix] = body, " ".join(body["errors"]).replace(file_id, "ID")
    message = answers["never", ".json"][1]
    assert message == ("There is no file ID here: it was deleted or moved to the trash, or "
                       "the link is wrong. Search the files, or look in the trash of its "
                       "source, to find it again.")
    assert "File not found" not in message
    # The same words and the same keys, whichever it is.
    for (body, words) in answers.values():
        assert words == message
        assert sorted(body) == sorted(answers["never", ".json"][0])
