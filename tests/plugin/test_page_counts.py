"""The counts the pages show are kept by triggers (not counted per request):
after uploads, deletes, moves, the trash, restores and a sync, every count on
every page still matches the files and folders really there. And a folder's
listing pages through every file once, by cursor and by page number."""

import re

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.server import DatasetteServer, assert_no_server_errors, source_config

SOURCES = ("team", "archive")


def config(tmp_path):
    return {"permissions": {**OPEN_PERMISSIONS, "files-manage-sources": True},
            "plugins": {"datasette-files": {"sources": {
                slug: source_config(tmp_path / slug) for slug in SOURCES}}}}


@pytest.fixture
def server(make_server, tmp_path):
    return make_server(config(tmp_path))


def listing(client, slug: str, folder: str = "") -> dict:
    response = client.get(f"/-/files/source/{slug}.json",
                          params={"folder": folder, "limit": 500} if folder else {"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()


def truth(client, slug: str) -> dict:
    """{folder path: (files directly in it, folders directly in it)}, walked
    through the JSON listing."""
    counts, todo = {}, [""]
    while todo:
        folder = todo.pop()
        found = listing(client, slug, folder)
        counts[folder] = (len(found["files"]), len(found["folders"]))
        todo += [child["path"] for child in found["folders"]]
    # Without a folder the listing holds every file of the source.
    everywhere = counts[""][0]
    counts[""] = (everywhere - sum(files for path, (files, _) in counts.items() if path),
                  counts[""][1])
    return counts


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def heading_counts(client, slug: str, folder: str) -> str:
    """The counts under a source or folder page's heading."""
    page = client.get(f"/-/files/source/{slug}", params={"folder": folder} if folder else {})
    assert page.status_code == 200, page.text
    return text(re.search(r'<p class="df-subtle"[^>]*>(.*?)</p>', page.text, re.S).group(1)).strip()


def card_counts(client, slug: str, folder: str) -> dict:
    """{folder path: its card's counts} on the page of ``folder``."""
    page = client.get(f"/-/files/source/{slug}", params={"folder": folder} if folder else {})
    cards = re.findall(r'data-folder-path="([^"]*)".*?<span class="df-meta">(.*?)</span>',
                       page.text, re.S)
    return {path: text(meta).strip() for path, meta in cards}


def expected_heading(files: int, folders: int, total: int = None) -> str:
    words = plural(files if total is None else total, "file")
    words += " in all" if total is not None else ""
    words += f" · {plural(folders, 'folder')}" if folders else ""
    return words + (" · filesystem" if total is not None else "")


def assert_counts_right(client):
    """Every count every page shows, against the files and folders there."""
    totals = {}
    for slug in SOURCES:
        real = truth(client, slug)
        totals[slug] = sum(files for files, _ in real.values())
        for folder, (files, folders) in real.items():
            shown = heading_counts(client, slug, folder)
            if folder:
                assert shown == expected_heading(files, folders), (slug, folder, real)
            else:
                assert shown == expected_heading(files, folders, totals[slug]), (slug, real)
            children = {path: counts for path, counts in real.items()
                        if path and path.rpartition("/")[0] == folder}
            assert card_counts(client, slug, folder) == {
                path: expected_heading(*counts) if any(counts) else "Empty"
                for path, counts in children.items()}, (slug, folder, real)
    sources = client.get("/-/files/sources.json").json()["sources"]
    assert {s["slug"]: s["file_count"] for s in sources} == totals
    for page in (client.get("/-/files").text, client.get("/").text):
        for slug, total in totals.items():
            assert re.search(rf"<strong>{slug}</strong>\s*<span>{plural(total, 'file')}</span>",
                             page), (slug, total)


def post(client, url: str, body: dict) -> dict:
    response = client.post(url, json=body)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def test_counts_stay_right_through_uploads_deletes_moves_trash_restore_and_sync(
        server, tmp_path):
    with server.client() as client:
        assert_counts_right(client)  # nothing yet: zeros everywhere
        for parent, name in [("", "Trips"), ("Trips", "2024"), ("Trips/2024", "Alps"),
                             ("", "Empty")]:
            post(client, "/-/files/folders/team/-/create", {"folder": parent, "name": name})
        files = [api.upload(client, "team", f"{n}.txt", b"x", folder=folder)
                 for n, folder in enumerate(["", "", "Trips", "Trips/2024/Alps",
                                             "Trips/2024/Alps", "Trips/2024"])]
        api.upload(client, "archive", "old.txt", b"x")
        assert_counts_right(client)

        # A file deleted (to the trash) and restored.
        item = post(client, f"/-/files/{files[0]['id']}/-/delete", {})["trash"]
        assert_counts_right(client)
        post(client, item["restore_url"], {})
        # Moved to another folder, then to the other source's root.
        post(client, f"/-/files/{files[1]['id']}/-/move", {"folder": "Trips/2024/Alps"})
        post(client, f"/-/files/{files[2]['id']}/-/move", {"source": "archive", "folder": ""})
        assert_counts_right(client)

        # A folder tree moved under another folder, then renamed, in one go each.
        post(client, "/-/files/folders/team/-/move", {"path": "Trips/2024", "folder": "Empty"})
        assert_counts_right(client)
        post(client, "/-/files/folders/team/-/move", {"path": "Empty/2024", "folder": "",
                                                      "name": "Year"})
        assert_counts_right(client)

        # A folder tree to the trash, and back.
        item = post(client, "/-/files/folders/team/-/delete", {"path": "Year"})["trash"]
        assert_counts_right(client)
        post(client, item["restore_url"], {})
        assert_counts_right(client)

        # Files and folders a sync finds in storage; one file gone from it.
        (tmp_path / "team" / "Found" / "deep").mkdir(parents=True)
        (tmp_path / "team" / "Found" / "deep" / "a.txt").write_text("a")
        (tmp_path / "team" / "b.txt").write_text("b")
        post(client, "/-/files/sync/team", {})
        api.wait_for_sync(client, "team")
        assert_counts_right(client)
        assert "Found" in truth(client, "team")

        # Deleted for good, and the trash emptied.
        post(client, f"/-/files/{files[3]['id']}/-/delete", {"permanent": True})
        post(client, "/-/files/trash/team/-/empty", {})
        assert_counts_right(client)


def page_links(html: str) -> dict:
    return {rel: href.replace("&amp;", "&")
            for href, rel in re.findall(r'<a href="([^"]*)" rel="(prev|next)">', html)}


def names_on(html: str) -> list[str]:
    return re.findall(r'<li class="df-card"[^>]*>.*?<span class="df-name">(.*?)</span>', html, re.S)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """A server whose folder Many holds 120 files (three pages of 50), found by
    a sync: sizes and types with ties, names in mixed case; one file elsewhere."""
    data = tmp_path_factory.mktemp("many")
    (data / "team" / "Many").mkdir(parents=True)
    for n in range(120):
        name = f"{'F' if n % 2 else 'f'}ile{n:03}.{('txt', 'csv', 'png')[n % 3]}"
        (data / "team" / "Many" / name).write_bytes(b"x" * (n % 7 + 1))
    (data / "team" / "elsewhere.txt").write_text("x")
    server = DatasetteServer(data, config(data)).start()
    with server.client() as client:
        post(client, "/-/files/sync/team", {})
        api.wait_for_sync(client, "team")
    yield server
    server.stop()
    assert_no_server_errors(server)


@pytest.mark.parametrize("sort,order", [("date", "desc"), ("name", "asc"), ("size", "desc"),
                                        ("type", "asc"), ("name", "desc")])
def test_a_folder_lists_every_file_once_by_next_previous_and_page(many, sort, order):
    url = "/-/files/source/team"
    with many.client() as client:
        wanted = [f["filename"] for f in client.get(
            f"{url}.json", params={"folder": "Many", "sort": sort, "order": order,
                                   "limit": 500}).json()["files"]]
        assert len(wanted) == 120

        # Forward by Next from the first page, then back by Previous.
        pages = [client.get(url, params={"folder": "Many", "sort": sort, "order": order}).text]
        while "next" in page_links(pages[-1]):
            assert len(pages) < 5
            pages.append(client.get(url + page_links(pages[-1])["next"]).text)
        assert [len(names_on(page)) for page in pages] == [50, 50, 20]
        assert [name for page in pages for name in names_on(page)] == wanted
        assert [f"Page {n} of 3" in page for n, page in enumerate(pages, 1)] == [True] * 3
        back = [pages[-1]]
        while "prev" in page_links(back[-1]):
            back.append(client.get(url + page_links(back[-1])["prev"]).text)
        assert [names_on(page) for page in reversed(back)] == [names_on(p) for p in pages]

        # Any page by its number; past the last, the last.
        for number, page in enumerate(pages, 1):
            direct = client.get(url, params={"folder": "Many", "sort": sort, "order": order,
                                             "page": number}).text
            assert names_on(direct) == names_on(page)
        last = client.get(url, params={"folder": "Many", "sort": sort, "order": order,
                                       "page": 99}).text
        assert names_on(last) == names_on(pages[-1]) and "Page 3 of 3" in last


def test_a_bad_page_cursor_is_a_400(many):
    with many.client() as client:
        for name in ("next", "previous"):
            response = client.get("/-/files/source/team", params={name: "not-a-cursor"})
            assert response.status_code == 400 and "Invalid cursor" in response.text
