"""Hostile requests and hostile bytes against the previews (issue 20): the inline
routes' ranges, PDFs whose pages no viewer can size, and bytes changed on disk
after they were registered, whose previews must neither be served stale nor be
cached under the old bytes' hash, which other files (in sources others may
browse) share. One server for the module."""

import io
import os
import time

import pytest
from PIL import Image

from support import api, pdfs
from support.config import ALICE, BOB
from support.pool import SourcePool

# Alice browses both of a test's sources; Bob only "team".
ACTIONS = ("files-browse", "files-upload", "files-edit", "files-delete")


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("previews-hostile"),
                      kinds=("team", "secret"))


@pytest.fixture(scope="module")
def server(pool):
    permissions = {action: {} for action in ACTIONS}
    for slug in pool.sources():
        for action in ACTIONS:
            allowed = ["alice", "bob"] if slug.startswith("team") and action == ACTIONS[0] \
                else ["alice"]
            permissions[action][slug] = {"allow": {"id": allowed}}
    yield from pool.serve({"permissions": permissions, "plugins": {"datasette-files": {
        "sources": pool.sources(), "thumbnail_timeout_seconds": 4}}})


@pytest.fixture
def alice(server):
    with server.client(ALICE) as client:
        yield client


@pytest.fixture
def bob(server):
    with server.client(BOB) as client:
        yield client


def stored_path(root, file: dict):
    """The file's bytes on disk (its storage name ends in its filename)."""
    [name] = [name for name in os.listdir(root) if name.startswith(file["id"])]
    return root / name


def replace_on_disk(path, content: bytes) -> None:
    """New bytes under the same name, as an editor of the share would write them."""
    before = path.stat().st_mtime_ns
    path.write_bytes(content)
    # A later modification time, whatever the filesystem's clock granularity.
    os.utime(path, ns=(before + 10**9, before + 10**9))


def jpeg_size(response) -> tuple[int, int]:
    return Image.open(io.BytesIO(response.content)).size


def test_a_range_of_thousands_of_digits_is_refused_or_ignored_not_a_500(alice, src):
    # int() refuses more than 4,300 digits: a Range header of 5,000 was a 500.
    song = api.upload(alice, src.team, "song.mp3", b"ID3" + b"x" * 997, "audio/mpeg")
    photo = api.upload(alice, src.team, "photo.png", b"\x89PNG" + b"x" * 996, "image/png")
    huge = "9" * 5000
    for url, content in ((song["download_url"], b"ID3" + b"x" * 997),
                         (f"/-/files/{song['id']}/-/media", b"ID3" + b"x" * 997),
                         (f"/-/files/{photo['id']}/-/image", b"\x89PNG" + b"x" * 996)):
        start = alice.get(url, headers={"Range": f"bytes={huge}-"})
        assert start.status_code == 416, start.text
        assert start.headers["content-range"] == "bytes */1000"
        end = alice.get(url, headers={"Range": f"bytes=10-{huge}"})
        assert end.status_code == 206, end.text
        assert end.headers["content-range"] == "bytes 10-999/1000"
        suffix = alice.get(url, headers={"Range": f"bytes=-{huge}"})
        assert suffix.status_code == 206, suffix.text
        assert suffix.headers["content-range"] == "bytes 0-999/1000"
        # Leading zeros are still the number they spell.
        zeros = alice.get(url, headers={"Range": f"bytes={'0' * 5000}5-{'0' * 5000}9"})
        assert (zeros.status_code, zeros.content) == (206, content[5:10])


def infinitely_wide_pdf() -> bytes:
    """One page whose MediaBox is wider than a float: PDFium says its width is inf."""
    wide = b"3" + b"0" * 40 + b".0"
    return pdfs.assemble([
        b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[4 0 R]/Count 1>>",
        pdfs.HELVETICA,
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 %s 100]/Contents 5 0 R>>" % wide,
        pdfs.stream(b"0 0 m 10 10 l S")])


def test_a_pdf_page_of_infinite_size_is_no_500(alice, src):
    file = api.upload(alice, src.team, "wide.pdf", infinitely_wide_pdf(), "application/pdf")
    page = alice.get(file["url"])
    assert page.status_code == 200, page.text[-2000:]
    drawn = alice.get(f"/-/files/{file['id']}/-/pdf-page/1")
    assert drawn.status_code in (200, 422), drawn.text
    assert drawn.headers["content-type"].startswith(("image/", "application/json"))
    assert alice.get(file["thumbnail_url"]).status_code == 200


def test_a_markdown_preview_follows_the_bytes_on_disk(alice, src):
    file = api.upload(alice, src.team, "notes.md", b"# Original heading\n", "text/markdown")
    assert "Original heading" in alice.get(file["url"]).text  # rendered and cached
    replace_on_disk(stored_path(src.team_dir, file), b"# Edited heading, longer now\n")
    shown = alice.get(file["url"]).text
    assert "Edited heading" in shown and "Original heading" not in shown


def test_a_preview_of_changed_bytes_is_never_shown_for_another_file(alice, bob, src):
    # The same bytes in a source Bob browses and in one he may not: one hash.
    common = b"# Agenda\n\nNothing yet.\n"
    public = api.upload(alice, src.team, "agenda.md", common, "text/markdown")
    private = api.upload(alice, src.secret, "agenda.md", common, "text/markdown")
    assert public["content_hash"] == private["content_hash"]
    # The private copy is edited in place; Alice looks at it before anything
    # has hashed it again.
    replace_on_disk(stored_path(src.secret_dir, private),
                    b"# Agenda\n\nThe merger with Initech closes on Friday.\n")
    assert "Initech" in alice.get(private["url"]).text
    assert bob.get(private["url"]).status_code in (403, 404)
    seen_by_bob = bob.get(public["url"])
    assert seen_by_bob.status_code == 200
    assert "Nothing yet" in seen_by_bob.text and "Initech" not in seen_by_bob.text


def test_pdf_pages_of_changed_bytes_are_never_served_for_another_file(alice, bob, src):
    common = pdfs.document([(612, 792)], title="Public")
    public = api.upload(alice, src.team, "report.pdf", common, "application/pdf")
    private = api.upload(alice, src.secret, "report.pdf", common, "application/pdf")
    assert public["content_hash"] == private["content_hash"]
    # A square page: its image (900 x 900) tells it from the public one's.
    replace_on_disk(stored_path(src.secret_dir, private),
                    pdfs.document([(300, 300), (300, 300)], title="Secret"))
    deadline = time.monotonic() + 20
    while True:  # Alice reads the edited PDF (503 while it is being read again)
        private_page = alice.get(f"/-/files/{private['id']}/-/pdf-page/1")
        if private_page.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert private_page.status_code == 200, private_page.text
    assert jpeg_size(private_page) == (900, 900)
    public_page = bob.get(f"/-/files/{public['id']}/-/pdf-page/1")
    assert public_page.status_code == 200, public_page.text
    assert jpeg_size(public_page) == (1200, 1553)
    assert bob.get(f"/-/files/{public['id']}/-/pdf-page/2").status_code == 404


def test_a_pdf_whose_bytes_are_gone_has_a_page_saying_so(alice, src):
    file = api.upload(alice, src.team, "gone.pdf", pdfs.document([(612, 792)]),
                      "application/pdf")
    stored_path(src.team_dir, file).unlink()
    page = alice.get(file["url"])
    assert page.status_code == 200, page.text[-2000:]
    assert "missing from storage" in page.text
    drawn = alice.get(f"/-/files/{file['id']}/-/pdf-page/1")
    assert drawn.status_code == 404, drawn.text
    assert drawn.headers["content-type"].startswith("application/json")
