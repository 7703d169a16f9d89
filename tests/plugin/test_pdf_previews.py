"""PDFs: a first-page thumbnail through the generator hook, and the file page's
viewer, whose pages the limited worker draws, validated, cached and bounded,
whatever the PDF holds."""

import concurrent.futures
import io
import re
import sqlite3
import time

import httpx
import pytest
from PIL import Image

from support import api, pdfs
from support.config import ALICE, BOB
from support.pool import SourcePool

TIMEOUT_SECONDS = 4
ALICE_ONLY = {action: {"id": "alice"}
              for action in ("files-browse", "files-upload", "files-edit", "files-delete")}


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("pdfs"), kinds=("docs",))


@pytest.fixture(scope="module")
def server(pool, testthumbs_site):
    from support.server import DatasetteServer

    config = {"permissions": ALICE_ONLY, "plugins": {"datasette-files": {
        "thumbnail_timeout_seconds": TIMEOUT_SECONDS, "sources": pool.sources()}}}
    server = DatasetteServer(pool.root, config, env={"PYTHONPATH": str(testthumbs_site)})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def alice(server):
    with server.client(ALICE) as client:
        yield client


def upload(client, src, name, content):
    return api.upload(client, src.docs, name, content, "application/pdf")


def viewer_pages(client, file) -> list[str]:
    """The page image URLs the file page's viewer shows."""
    page = client.get(f"/-/files/{file['id']}")
    assert page.status_code == 200
    assert "df-pdf-note" not in page.text, page.text[page.text.find("df-pdf-note"):][:300]
    return re.findall(r'<img src="([^"]*/-/pdf-page/[^"]*)"', page.text)


def image_size(response) -> tuple[int, int]:
    return Image.open(io.BytesIO(response.content)).size


def stored_thumbnails(server, file_id):
    with sqlite3.connect(server.internal_db) as conn:
        return conn.execute("SELECT generator, thumb IS NOT NULL FROM datasette_files_thumbnails "
                            "WHERE file_id = ? AND size = 200 ORDER BY generator",
                            [file_id]).fetchall()


def test_thumbnail_is_the_first_page_made_on_upload(server, alice, src):
    file = upload(alice, src, "landscape.pdf", pdfs.document([(800, 400), (612, 792)]))
    deadline = time.monotonic() + 20
    while not stored_thumbnails(server, file["id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Made in the background after the upload, before anyone asked.
    assert stored_thumbnails(server, file["id"]) == [("pdf", 1)]
    small = alice.get(file["thumbnail_url"])
    large = alice.get(file["thumbnail_url"], params={"size": 400})
    assert small.headers["content-type"] == "image/jpeg"
    assert image_size(small) == (200, 100)  # the first page's 2:1, not the second's
    assert image_size(large) == (400, 200)


def test_a_plugins_generator_is_tried_first(alice, src, server):
    stamped = upload(alice, src, "a.stamped.pdf", pdfs.document([(612, 792)]))
    declined = upload(alice, src, "b.declined.pdf", pdfs.document([(612, 792)]))
    assert image_size(alice.get(stamped["thumbnail_url"])) == (30, 10)
    # The plugin said no: the built-in generator drew it.
    response = alice.get(declined["thumbnail_url"])
    assert response.headers["content-type"] == "image/jpeg"
    assert image_size(response) == (155, 200)
    assert stored_thumbnails(server, declined["id"]) == [("pdf", 1), ("stamped-pdf", 0)]


def test_page_images_are_served_sized_sandboxed_and_cached(alice, src, server):
    file = upload(alice, src, "three.pdf",
                  pdfs.document([(612, 792), (792, 612), (200, 600)], title="Three"))
    urls = viewer_pages(alice, file)
    assert [url.split("?")[0].rsplit("/", 1)[1] for url in urls] == ["1", "2", "3"]
    sizes = []
    for url in urls:
        response = alice.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert "immutable" in response.headers["cache-control"]
        assert "attachment" not in response.headers.get("content-disposition", "")
        sizes.append(image_size(response))
    # Each fits 1200 x 1600, with its own page's shape; the page says so in advance.
    assert sizes == [(1200, 1553), (1200, 928), (534, 1600)]
    assert re.search(r'width="1200" height="928"', alice.get(f"/-/files/{file['id']}").text)

    first = alice.get(urls[0])
    again = alice.get(urls[0], headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    unversioned = alice.get(urls[0].split("?")[0])
    assert unversioned.headers["cache-control"] == "private, no-cache"
    assert alice.head(urls[0]).status_code == 200

    # Served from the registry's cache: a page drawn once is not drawn again.
    marker = io.BytesIO()
    Image.new("RGB", (7, 7), "red").save(marker, "JPEG")
    with sqlite3.connect(server.internal_db) as conn:
        changed = conn.execute(
            "UPDATE datasette_files_pdf_pages SET image = ? WHERE content_hash = ? AND page = 1",
            [marker.getvalue(), file["content_hash"]]).rowcount
    assert changed == 1
    assert image_size(alice.get(urls[0])) == (7, 7)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "+1", "%201", "1e3",
                                  "99999999999999999999"])
def test_a_page_that_is_no_page_number_is_refused(alice, src, page):
    file = upload(alice, src, "one.pdf", pdfs.document([(612, 792)]))
    response = alice.get(f"/-/files/{file['id']}/-/pdf-page/{page}")
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert "whole number" in response.json()["errors"][0]


def test_pages_past_the_document_or_the_cap_are_not_found(alice, src):
    short = upload(alice, src, "two.pdf", pdfs.document([(612, 792), (612, 792)]))
    response = alice.get(f"/-/files/{short['id']}/-/pdf-page/3")
    assert response.status_code == 404
    assert "has 2 pages" in response.json()["errors"][0]
    text = api.upload(alice, src.docs, "notes.txt", b"hello", "text/plain")
    response = alice.get(f"/-/files/{text['id']}/-/pdf-page/1")
    assert response.status_code == 404
    assert "not a PDF" in response.json()["errors"][0]


def test_someone_who_may_not_download_gets_the_same_answer(server, alice, src):
    file = upload(alice, src, "private.pdf", pdfs.document([(612, 792)]))
    page_url = f"/-/files/{file['id']}/-/pdf-page/1"
    for actor in (BOB, None):
        with server.client(actor) as client:
            download = client.get(file["download_url"])
            page = client.get(page_url)
            assert (page.status_code, page.json()) == (download.status_code, download.json())
            assert page.status_code == 404
    assert alice.get(page_url).status_code == 200


def test_a_huge_page_count_shows_the_first_fifty(alice, src):
    file = upload(alice, src, "many.pdf", pdfs.many_pages())  # 100,000 pages in ~2 KB
    assert file["size"] < 4096
    html = alice.get(f"/-/files/{file['id']}").text
    assert "Showing 50 of 100,000 pages" in html
    urls = viewer_pages(alice, file)
    assert len(urls) == 50
    assert alice.get(urls[-1]).status_code == 200
    past_cap = alice.get(f"/-/files/{file['id']}/-/pdf-page/51")
    assert past_cap.status_code == 404
    assert "first 50 pages" in past_cap.json()["errors"][0]


def test_a_page_bomb_is_drawn_at_the_usual_size(alice, src):
    file = upload(alice, src, "bomb.pdf", pdfs.page_bomb(inches=200))
    page = alice.get(viewer_pages(alice, file)[0])
    assert page.status_code == 200
    assert image_size(page) == (1200, 1200)  # not 14,400 x 14,400
    assert image_size(alice.get(file["thumbnail_url"])) == (200, 200)


def test_a_pdf_with_script_is_drawn_never_served(alice, src):
    file = upload(alice, src, "scripted.pdf", pdfs.javascript())
    urls = viewer_pages(alice, file)
    page = alice.get(urls[0])
    assert page.headers["content-type"] == "image/jpeg"
    assert b"JavaScript" not in page.content
    download = alice.get(file["download_url"])
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("content", [
    pdfs.document([(612, 792)] * 3)[:700],  # cut off mid-page
    b"%PDF-1.7\n" + b"\x00garbage" * 100,
], ids=["truncated", "garbage"])
def test_a_malformed_pdf_gets_a_clear_answer(alice, src, content):
    file = upload(alice, src, "broken.pdf", content)
    html = alice.get(f"/-/files/{file['id']}")
    assert html.status_code == 200
    for _ in range(2):  # the failure is remembered: the same answer, no new render
        page = alice.get(f"/-/files/{file['id']}/-/pdf-page/1")
        assert page.status_code in (404, 422), page.text
        assert page.json()["ok"] is False
    thumbnail = alice.get(file["thumbnail_url"])
    assert thumbnail.headers["content-type"].startswith(("image/svg+xml", "image/jpeg"))


def timed_get(server, client, path):
    """``path`` asked for in a new connection, with when it went and came back."""
    started = time.monotonic()
    response = httpx.get(server.url + path, cookies=dict(client.cookies), timeout=60)
    return response, started, time.monotonic()


def test_a_flood_of_page_requests_is_queued_then_refused(server, alice, src):
    """Twenty-four pages asked for at once: the workers draw two at a time, six
    more wait, and the rest are refused at once (503, Retry-After), not held."""
    file = upload(alice, src, "flood.pdf", pdfs.document([(612, 792)] * 24, title="Flood"))
    assert len(viewer_pages(alice, file)) == 24
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as executor:
        results = list(executor.map(
            lambda n: timed_get(server, alice, f"/-/files/{file['id']}/-/pdf-page/{n}")[0],
            range(1, 25)))
    statuses = [response.status_code for response in results]
    busy = [response for response in results if response.status_code == 503]
    assert busy, statuses
    # Drawn, or (on a machine slowed by other work) stopped at the time limit: never a 500.
    assert set(statuses) <= {200, 422, 503}, statuses
    assert len(statuses) - len(busy) <= 8  # the queue's places
    for response in busy:
        assert response.headers["retry-after"].isdigit()
        assert response.json()["ok"] is False
        assert "try again" in response.json()["errors"][0]
    # Refused pages are not remembered as failures: asked again, they are drawn.
    again = alice.get(f"/-/files/{file['id']}/-/pdf-page/{statuses.index(503) + 1}")
    assert again.status_code == 200


def test_a_page_too_slow_to_draw_is_stopped_while_the_server_answers(server, alice, src):
    """A page whose forms nest a billion paths: the worker is stopped at its
    time or memory limit (422); a request made meanwhile is answered before that."""
    file = upload(alice, src, "slow.pdf", pdfs.slow_pages(pages=1, depth=9))
    other = upload(alice, src, "quick.pdf", pdfs.document([(612, 792)], title="Quick"))
    assert len(viewer_pages(alice, file)) == 1  # the outline is quick to read
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        slow = executor.submit(timed_get, server, alice, f"/-/files/{file['id']}/-/pdf-page/1")
        time.sleep(0.3)  # the render has started
        meanwhile, _, answered_at = timed_get(server, alice, f"/-/files/{other['id']}.json")
        response, _, slow_finished_at = slow.result()
    assert response.status_code == 422
    # Stopped at the time limit or, on a faster machine, at the memory limit
    # first (PDFium aborts when an allocation fails).
    message = response.json()["errors"][0]
    assert (f"took longer than {TIMEOUT_SECONDS}s" in message or "worker died" in message
            or "ran out of memory" in message), message
    assert meanwhile.status_code == 200
    assert answered_at < slow_finished_at


def test_bytes_changed_on_disk_never_show_under_the_old_hash(server, alice, src):
    """The page cache is keyed by content hash, shared by every file with those
    bytes: a file rewritten behind the registry's back (its row still has the
    old hash) must not put its new pages under the old hash, where a copy of
    the old bytes would show them."""
    import os

    portrait = pdfs.document([(612, 792)], title="Portrait")
    changed = upload(alice, src, "changed.pdf", portrait)
    copy = upload(alice, src, "copy.pdf", portrait)
    for file in (changed, copy):
        for _ in range(200):
            if alice.get(f"/-/files/{file['id']}.json").json()["content_hash"]:
                break
            time.sleep(0.05)
    [path] = [src.docs_dir / name for name in os.listdir(src.docs_dir)
              if name.startswith(changed["id"])]
    path.write_bytes(pdfs.document([(792, 612), (792, 612)], title="Landscape"))

    # The rewritten file's viewer and first page are asked for first...
    alice.get(f"/-/files/{changed['id']}")
    alice.get(f"/-/files/{changed['id']}/-/pdf-page/1")
    # ...and the copy still shows its own one portrait page.
    urls = viewer_pages(alice, copy)
    assert len(urls) == 1
    assert image_size(alice.get(urls[0])) == (1200, 1553)


def test_a_same_size_rewrite_keeping_its_mtime_never_shows_under_the_old_hash(alice, src):
    """As above, when the new bytes have the old size and modification time (a
    restore with ``cp -p`` or ``rsync -t``): size and mtime say nothing changed,
    but pages shared by hash must still be drawn from the hashed bytes only."""
    import os

    portrait = pdfs.document([(612, 792)], title="Portrait")
    landscape = pdfs.document([(792, 612), (792, 612)], title="Landscape")
    size = max(len(portrait), len(landscape))
    # PDF readers ignore what follows %%EOF: both padded to one size.
    portrait, landscape = (content + b"\n" * (size - len(content))
                           for content in (portrait, landscape))
    changed = upload(alice, src, "changed.pdf", portrait)
    copy = upload(alice, src, "copy.pdf", portrait)
    [path] = [src.docs_dir / name for name in os.listdir(src.docs_dir)
              if name.startswith(changed["id"])]
    alice.get(changed["download_url"])  # seen once: its mtime is registered
    before = path.stat()
    path.write_bytes(landscape)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    alice.get(f"/-/files/{changed['id']}")
    alice.get(f"/-/files/{changed['id']}/-/pdf-page/1")
    urls = viewer_pages(alice, copy)
    assert len(urls) == 1
    assert image_size(alice.get(urls[0])) == (1200, 1553)
