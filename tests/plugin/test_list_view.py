"""The list view of a source's page over HTTP: its columns sort (each way,
with aria-sort), every sort pages through a folder once (ties, NULL sizes,
types and uploaders; by Next, by Previous and by page number), times carry
the clock, and the Grid | List choice is kept per actor (anonymous: a cookie)
through /-/files/-/preferences and shown by the page the server renders."""

from __future__ import annotations

import calendar
import html
import re
import sqlite3
import time

import pytest

from support import api
from support.config import ALICE, BOB, OPEN_PERMISSIONS
from support.pool import SourcePool
from support.server import DatasetteServer, assert_no_server_errors, source_config, start_with_files

LISTED = "listed"  # the seeded source: its root holds no bytes, so no sync drops its rows
FILES = 130  # three pages of 50
SORTS = ("date", "name", "size", "type", "modified", "uploader")


def epoch_ns(timestamp: str) -> int:
    return calendar.timegm(time.strptime(timestamp, "%Y-%m-%d %H:%M:%S")) * 10**9


def seeded_rows() -> list[dict]:
    """Files with many ties and NULLs in every sorted column. Modified: no
    mtime (the registration counts), an mtime equal to a registration (a tie
    across the two), or an mtime of its own."""
    rows = []
    for n in range(FILES):
        created = f"2026-03-{1 + n % 5:02d} 10:00:00"
        mtime = [None, epoch_ns(created), epoch_ns(f"2026-01-0{1 + n % 3} 08:30:00") + 7,
                 epoch_ns("2026-03-02 10:00:00")][n % 4]
        filename = f"{'AbC'[n % 3]}file-{n:03d}.txt"
        rows.append({
            "id": f"df-list{n:022d}", "source_slug": LISTED, "filename": filename,
            "path": filename, "folder": "", "created_at": created, "mtime_ns": mtime,
            "size": None if n % 11 == 0 else (n % 4) * 1000,
            "content_type": None if n % 13 == 0 else
            ("text/plain", "image/png", "application/pdf")[n % 3],
            "uploaded_by": None if n % 3 == 0 else ("alice", "bob")[n % 2],
            "content_hash": "sha256:0"})
    rows.append({**rows[0], "id": f"df-list{FILES:022d}", "filename": "inner.txt",
                 "path": "inner/inner.txt", "folder": "inner"})
    return rows


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("list-view"))


@pytest.fixture(scope="module")
def server(pool):
    sources = {**pool.sources(), LISTED: source_config(pool.root / LISTED)}
    server = DatasetteServer(pool.root, {
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": sources}}})
    start_with_files(server, seeded_rows())
    yield server
    server.stop()
    assert_no_server_errors(server)


@pytest.fixture(scope="module")
def seqs(server) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{server.internal_db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT id, seq FROM datasette_files_files "
                                 "WHERE source_slug = ?", [LISTED]))
    finally:
        conn.close()


def sort_value(row: dict, sort: str):
    return {"date": None, "name": row["filename"].lower(), "size": row["size"],
            "type": row["content_type"], "uploader": row["uploaded_by"],
            "modified": row["mtime_ns"] if row["mtime_ns"] is not None
            else epoch_ns(row["created_at"])}[sort]


def expected_ids(sort: str, descending: bool, seqs: dict) -> list[str]:
    """The root's files in SQLite's order: NULLs first going up, last going
    down, ties in registration order."""
    rows = [row for row in seeded_rows() if row["folder"] == ""]

    def key(row):
        value = sort_value(row, sort)
        return (value is not None, value if value is not None else 0 if sort in (
            "size", "modified") else "", seqs[row["id"]])

    return [row["id"] for row in sorted(rows, key=key, reverse=descending)]


def page_ids(page: str) -> list[str]:
    return re.findall(r'<tr class="df-list-file" data-file-id="([^"]+)"', page)


def link(page: str, rel: str):
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def get_page(client, params) -> str:
    response = client.get(f"/-/files/source/{LISTED}", params=params)
    assert response.status_code == 200, response.text[-2000:]
    return response.text


@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_lists_every_file_once_by_next_previous_and_page(server, seqs, sort):
    with server.client(ALICE) as alice:
        for order in ("asc", "desc"):
            expected = expected_ids(sort, order == "desc", seqs)
            pages = [expected[i:i + 50] for i in range(0, FILES, 50)]
            base = {"sort": sort, "order": order, "view": "list"}
            # Forward by the Next links (keyset cursors).
            page, seen = get_page(alice, base), []
            while True:
                seen.append(page_ids(page))
                next_url = link(page, "next")
                if next_url is None:
                    break
                assert "view=list" in next_url and f"sort={sort}" in next_url
                page = alice.get(f"/-/files/source/{LISTED}{next_url}").text
            assert seen == pages, (sort, order)
            # Back by the Previous links, from the last page.
            back = []
            while True:
                back.insert(0, page_ids(page))
                previous = link(page, "prev")
                if previous is None:
                    break
                page = alice.get(f"/-/files/source/{LISTED}{previous}").text
            assert back == pages, (sort, order)
            # And each page by its number alone.
            for number, ids in enumerate(pages, 1):
                assert page_ids(get_page(alice, {**base, "page": number})) == ids


def header(page: str, column: str) -> str:
    return re.search(rf'<th scope="col" class="df-col-{column}"[^>]*>.*?</th>', page, re.S).group(0)


def test_the_columns_sort_each_way_and_say_how(server):
    with server.client(ALICE) as alice:
        page = get_page(alice, {"sort": "uploader", "order": "desc", "view": "list"})
        assert 'aria-sort="descending"' in header(page, "uploader")
        # Clicking it again reverses it; the other columns start in their own order.
        assert "sort=uploader&amp;order=asc&amp;view=list" in header(page, "uploader")
        assert "sort=name&amp;order=asc" in header(page, "name")
        assert "sort=modified&amp;order=desc" in header(page, "modified")
        assert "sort=size&amp;order=desc" in header(page, "size")
        for other in ("name", "size", "modified", "type"):
            assert "aria-sort" not in header(page, other)
        reversed_page = get_page(alice, {"sort": "uploader", "order": "asc", "view": "list"})
        assert 'aria-sort="ascending"' in header(reversed_page, "uploader")
        # Folders first, on the first page; the toolbar's sort links too.
        assert page.index('data-folder-path="inner"') < page.index('class="df-list-file"')
        assert re.search(r'<a href="\?sort=uploader&amp;order=asc&amp;view=list" '
                         r'aria-current="true" class="df-active">uploader ↓</a>', page)


def test_a_row_shows_size_modified_with_its_time_type_and_uploader(server):
    with server.client(ALICE) as alice:
        page = get_page(alice, {"sort": "date", "order": "asc", "view": "list"})
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r'<tr class="df-list-file" data-file-id="([^"]+)".*?</tr>', page, re.S)}
    # n=2: an mtime of its own (3 Jan, 08:30 UTC); alice; 2,000 bytes; a PDF.
    two = rows["df-list" + "2".zfill(22)]
    assert '<time datetime="2026-01-03T08:30:00Z" data-local-time>' in two
    assert '<span class="df-day">3 Jan 2026</span> <span class="df-clock">08:30 UTC</span>' in two
    assert '<td class="df-col-size">2.0 KiB</td>' in two
    assert '<td class="df-col-type" title="application/pdf">application/pdf</td>' in two
    assert '<td class="df-col-uploader">alice</td>' in two
    # n=0: no mtime, so its registration; no size, no uploader.
    zero = rows["df-list" + "0".zfill(22)]
    assert '<time datetime="2026-03-01T10:00:00Z" data-local-time>' in zero
    assert '<td class="df-col-size">—</td>' in zero
    assert '<td class="df-col-uploader"></td>' in zero
    # Selection reads what it reads of a card: the checkbox and the row's data.
    assert 'data-filename="Afile-000.txt"' in zero and 'data-select value="df-list' in zero
    assert '<table class="df-list" data-selectable>' in page


def test_grid_cards_show_the_time_and_the_uploader(server):
    with server.client(ALICE) as alice:
        page = get_page(alice, {"sort": "date", "order": "asc", "view": "grid"})
    assert 'class="df-list"' not in page and '<ul class="df-grid" data-selectable>' in page
    card = re.search(r'data-filename="bfile-001.txt".*?</li>', page, re.S).group(0)
    # n=1: its mtime is its registration, 2 Mar 10:00 UTC; uploaded by bob.
    meta = re.sub(r"<[^>]+>", "", re.search(r'<span class="df-meta">(.*?)</span>\s*</li>',
                                            card, re.S).group(1))
    assert meta == "1000 Bytes · bob 2 Mar 2026 10:00 UTC", meta


def test_the_json_listing_keeps_its_own_sorts_and_a_bad_view_is_a_400(server):
    with server.client(ALICE) as alice:
        api.assert_api_error(alice.get(f"/-/files/source/{LISTED}.json",
                                       params={"sort": "uploader"}), 400, "'sort' must be one of")
        bad_view = alice.get(f"/-/files/source/{LISTED}", params={"view": "table"})
        assert bad_view.status_code == 400 and "must be one of grid, list" in bad_view.text


PREFERENCES = "/-/files/-/preferences"


@pytest.mark.parametrize("body,fragment", [
    ({}, "at least one preference"),
    ({"view": "table"}, "'view' must be one of grid, list"),
    ({"view": ["list"]}, "'view' must be one of grid, list"),
    ({"view": None}, "'view' must be one of grid, list"),
    ({"view": "list", "colour": "red"}, "Unknown preference 'colour'"),
    ([], "must be a JSON object"),
    ("list", "must be a JSON object"),
])
def test_preferences_are_validated(server, body, fragment):
    with server.client(ALICE) as alice:
        api.assert_api_error(alice.post(PREFERENCES, json=body), 400, fragment)
        api.assert_api_error(alice.post(PREFERENCES, content=b"{not json",
                                        headers={"content-type": "application/json"}),
                             400, "not valid JSON")
        assert alice.put(PREFERENCES, json={"view": "list"}).status_code == 405


def test_the_view_is_kept_per_actor_and_the_page_renders_it(server, src):
    with server.client(ALICE) as alice, server.client(BOB) as bob:
        api.upload(alice, src.team, "a.txt", b"alpha", "text/plain")
        page = alice.get(f"/-/files/source/{src.team}").text
        assert '<ul class="df-grid"' in page  # nothing chosen yet: the grid
        saved = alice.post(PREFERENCES, json={"view": "list"})
        assert saved.status_code == 200 and saved.json() == {
            "ok": True, "preferences": {"view": "list"}}
        assert "set-cookie" not in saved.headers  # kept on the server, not in the browser
        # Another client of alice's (another browser) gets it; bob does not.
        with server.client(ALICE) as elsewhere:
            assert elsewhere.get(PREFERENCES).json()["preferences"] == {"view": "list"}
            page = elsewhere.get(f"/-/files/source/{src.team}").text
        assert '<table class="df-list" data-selectable>' in page
        assert '<ul class="df-grid"' not in page
        assert re.search(r'<a href="\?sort=date&amp;order=desc&amp;view=list" data-view="list" '
                         r'aria-current="true" class="df-active">List</a>', page)
        assert bob.get(PREFERENCES).json()["preferences"] == {}
        assert '<ul class="df-grid"' in bob.get(f"/-/files/source/{src.team}").text
        # ?view= wins over what is saved, and leaves it as it was.
        assert '<ul class="df-grid"' in alice.get(f"/-/files/source/{src.team}",
                                                  params={"view": "grid"}).text
        assert alice.get(PREFERENCES).json()["preferences"] == {"view": "list"}
        assert alice.post(PREFERENCES, json={"view": "grid"}).json()["preferences"] == {
            "view": "grid"}
        assert '<ul class="df-grid"' in alice.get(f"/-/files/source/{src.team}").text


def test_an_anonymous_visitors_view_is_kept_in_a_cookie(server, src):
    with server.client(ALICE) as alice:
        api.upload(alice, src.team, "b.txt", b"beta", "text/plain")
    with server.client() as anonymous:
        saved = anonymous.post(PREFERENCES, json={"view": "list"})
        assert saved.status_code == 200, saved.text
        cookie = saved.headers["set-cookie"]
        assert cookie.startswith("datasette_files_view=list;") and "HttpOnly" in cookie
        assert "Max-Age=31536000" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        # httpx keeps the cookie, as a browser would.
        assert anonymous.get(PREFERENCES).json()["preferences"] == {"view": "list"}
        assert '<table class="df-list"' in anonymous.get(f"/-/files/source/{src.team}").text
    with server.client() as stranger:  # no cookie: the grid
        assert '<ul class="df-grid"' in stranger.get(f"/-/files/source/{src.team}").text
        stranger.cookies.set("datasette_files_view", "nonsense")
        assert '<ul class="df-grid"' in stranger.get(f"/-/files/source/{src.team}").text
