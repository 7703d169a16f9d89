"""GET /-/files/source/{slug}/-/changes over HTTP: a folder's token changes
when a file in it is uploaded, renamed, moved out or in, or deleted, and when a
folder in it comes; not for another folder's or another source's changes. The
page carries the token it was rendered at; the endpoint asks files-browse as the
listing JSON does; bad parameters are a JSON 400."""

from __future__ import annotations

import re

import pytest

from support import api
from support.config import ALICE, BOB
from support.pool import SourcePool


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("live-listing"), kinds=("team", "other"))


@pytest.fixture(scope="module")
def server(pool):
    # bob may browse only the "other" sources: the "team" ones are not his to see.
    yield from pool.serve({
        "permissions": {"files-browse": {"id": "alice"}, "files-upload": {"id": "alice"},
                        "files-delete": {"id": "alice"}, "files-edit": {"id": "alice"}},
        "plugins": {"datasette-files": {"sources": pool.sources(), "live_poll_seconds": 2}},
    })


def token(client, source: str, folder: str = "", since=None) -> str:
    params = {"folder": folder} if folder else {}
    if since is not None:
        params["since"] = since
    response = client.get(f"/-/files/source/{source}/-/changes", params=params)
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert body["ok"] is True and body["source"] == source and body["folder"] == folder
    assert body["changed"] is (since is not None and since != body["token"])
    return body["token"]


def tokens(client, src) -> dict:
    """Every watched listing's token: two sibling folders, the root, the other source."""
    return {"a": token(client, src.team, "A"), "b": token(client, src.team, "B"),
            "root": token(client, src.team), "other": token(client, src.other)}


def changed(before: dict, after: dict) -> set:
    return {name for name in before if before[name] != after[name]}


def test_the_token_follows_changes_in_its_folder_only(server, src):
    with server.client(ALICE) as alice:
        for name in ("A", "B"):
            made = alice.post(f"/-/files/folders/{src.team}/-/create", json={"folder": "", "name": name})
            assert made.status_code == 201, made.text
        before = tokens(alice, src)
        # Asked with its own token: not changed.
        assert token(alice, src.team, "A", since=before["a"]) == before["a"]

        file = api.upload(alice, src.team, "notes.txt", b"notes", "text/plain", folder="A")
        after = tokens(alice, src)
        # A's listing, and the root's (A's card counts one more, and so does the
        # source's total); not B's or the other source's.
        assert changed(before, after) == {"a", "root"}
        assert token(alice, src.team, "A", since=before["a"]) == after["a"]

        before = after
        renamed = alice.post(f"/-/files/{file['id']}/-/rename", json={"filename": "minutes.txt"})
        assert renamed.status_code == 200, renamed.text
        after = tokens(alice, src)
        assert changed(before, after) == {"a"}

        before = after
        moved = alice.post(f"/-/files/{file['id']}/-/move", json={"source": src.team, "folder": "B"})
        assert moved.status_code == 200, moved.text
        after = tokens(alice, src)
        assert changed(before, after) == {"a", "b", "root"}  # the cards of A and B

        before = after
        deleted = alice.post(f"/-/files/{file['id']}/-/delete")
        assert deleted.status_code == 200, deleted.text
        after = tokens(alice, src)
        assert changed(before, after) == {"b", "root"}

        before = after
        api.upload(alice, src.other, "elsewhere.txt", b"x", "text/plain")
        after = tokens(alice, src)
        assert changed(before, after) == {"other"}

        before = after
        made = alice.post(f"/-/files/folders/{src.team}/-/create", json={"folder": "A", "name": "C"})
        assert made.status_code == 201, made.text
        after = tokens(alice, src)
        assert changed(before, after) == {"a", "root"}  # in A's listing, and on A's card

        before = after
        renamed = alice.post(f"/-/files/folders/{src.team}/-/move", json={"path": "A/C", "name": "D"})
        assert renamed.status_code == 200, renamed.text
        after = tokens(alice, src)
        assert changed(before, after) == {"a"}  # A's card counts the same

        # A file deep down: its folder's card in A, and the root's total.
        before = after
        api.upload(alice, src.team, "deep.txt", b"deep", "text/plain", folder="A/D")
        after = tokens(alice, src)
        assert changed(before, after) == {"a", "root"}


def test_the_page_carries_its_token_and_poll_interval(server, src):
    with server.client(ALICE) as alice:
        api.upload(alice, src.team, "first.txt", b"1", "text/plain")
        current = token(alice, src.team)
        page = alice.get(f"/-/files/source/{src.team}").text
    region = re.search(r"<div class=\"df-live-listing\" data-live-listing ([^>]*)>", page)
    assert region, page
    attributes = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', region.group(1)))
    assert attributes == {
        "data-changes-url": f"/-/files/source/{src.team}/-/changes",
        "data-changes-token": current,
        "data-poll-ms": "2000",  # live_poll_seconds from the config
    }
    assert "live-listing.js" in page


def test_permission_and_bad_parameters(server, src):
    with server.client(BOB) as bob, server.client(ALICE) as alice:
        # Not bob's to browse: the listing JSON's answer, word for word.
        listing = bob.get(f"/-/files/source/{src.team}.json")
        changes = bob.get(f"/-/files/source/{src.team}/-/changes")
        assert listing.status_code == changes.status_code == 403
        assert changes.json() == listing.json()
        anonymous = server.client().get(f"/-/files/source/{src.team}/-/changes")
        assert anonymous.status_code == 403
        api.assert_api_error(alice.get("/-/files/source/nowhere/-/changes"), 404)
        api.assert_api_error(alice.get(f"/-/files/source/{src.team}/-/changes",
                                       params={"folder": "Missing"}), 404, "Missing")
        for params in ({"since": "abc"}, {"since": "1" * 20}, {"since": ""},
                       {"folder": "../x"}, {"folder": "a/" * 100}):
            api.assert_api_error(alice.get(f"/-/files/source/{src.team}/-/changes",
                                           params=params), 400)
        posted = alice.post(f"/-/files/source/{src.team}/-/changes")
        assert posted.status_code == 405 and posted.json()["ok"] is False
