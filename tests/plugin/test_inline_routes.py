"""The inline routes, ``-/media`` (audio, video) and ``-/image`` (raster images):
they serve only those registered types, inline, with the download's safety
headers, validators and ranges; everything else is a JSON 404, and the
download stays an attachment."""

import re

import pytest

from support import api
from support.config import ALICE, BOB
from support.images import image_bytes
from support.media import wav_bytes, webm_bytes
from support.server import DatasetteServer, source_config

SANDBOX = "default-src 'none'; sandbox"
ROUTES = ("media", "image")
PDF_WITH_SCRIPT = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R "
    b"/OpenAction << /S /JavaScript /JS (app.alert\\(document.cookie\\)) >> >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
# (name, bytes, registered type): none of them is served by either route.
REFUSED = [
    ("page.html", b"<script>alert(document.cookie)</script>", "text/html"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "image/svg+xml"),
    ("plain.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
    ("script.pdf", PDF_WITH_SCRIPT, "application/pdf"),
    ("notes.txt", b"just text", "text/plain"),
    ("blob.bin", b"\x00\x01\x02", "application/octet-stream"),
    ("x.png", image_bytes(8, 8), "application/octet-stream"),
    ("scan.tiff", image_bytes(8, 8, "TIFF"), "image/tiff"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Everyone may browse "pub"; only alice may browse "priv" (and upload)."""
    data = tmp_path_factory.mktemp("inline")
    server = DatasetteServer(data, {
        "permissions": {
            "files-browse": {"pub": {"allow": True}, "priv": {"allow": {"id": "alice"}}},
            "files-upload": {"id": "alice"},
        },
        "plugins": {"datasette-files": {"sources": {
            "pub": source_config(data / "pub"), "priv": source_config(data / "priv")}}},
    }).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def files(server):
    with server.client(ALICE) as alice:
        uploaded = {
            "wav": api.upload(alice, "pub", "tone «A».wav", wav_bytes(0.5), "audio/wav"),
            "webm": api.upload(alice, "pub", "clip.webm", webm_bytes(), "video/webm"),
            "png": api.upload(alice, "pub", "photo.png", image_bytes(64, 48), "image/png"),
            "private": api.upload(alice, "priv", "secret.wav", wav_bytes(0.2), "audio/wav"),
        }
        for name, content, content_type in REFUSED:
            uploaded[name] = api.upload(alice, "pub", name, content, content_type)
    return uploaded


def inline_url(file: dict, route: str) -> str:
    return f"/-/files/{file['id']}/-/{route}"


@pytest.mark.parametrize("route", ROUTES)
def test_every_other_type_is_refused_with_a_json_404(server, files, route):
    with server.client(ALICE) as alice:
        for name, _, content_type in REFUSED:
            response = alice.get(inline_url(files[name], route))
            api.assert_api_error(response, 404, "is not served inline", repr(content_type))
            assert alice.head(inline_url(files[name], route)).status_code == 404
        # Each route refuses the other's types too.
        other = files["png"] if route == "media" else files["wav"]
        api.assert_api_error(alice.get(inline_url(other, route)), 404, "is not served inline")
        # The download of each is unchanged: an attachment in a sandbox.
        for name, content, _ in REFUSED:
            download = alice.get(files[name]["download_url"])
            assert download.status_code == 200 and download.content == content
            assert download.headers["content-disposition"].startswith("attachment;")
            assert download.headers["content-security-policy"] == SANDBOX


@pytest.mark.parametrize("kind,route,content_type", [
    ("wav", "media", "audio/wav"), ("webm", "media", "video/webm"), ("png", "image", "image/png")])
def test_allowed_types_are_inline_with_the_safety_headers(server, files, kind, route,
                                                          content_type):
    file = files[kind]
    with server.client(ALICE) as alice:
        response = alice.get(inline_url(file, route))
        download = alice.get(file["download_url"])
    assert response.status_code == 200
    assert response.content == download.content and len(response.content) == file["size"]
    assert response.headers["content-type"] == content_type
    assert response.headers["content-disposition"].startswith("inline; filename=")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == SANDBOX
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == download.headers["etag"]
    assert download.headers["content-disposition"].startswith("attachment;")


def test_the_name_is_rfc_6266_encoded(server, files):
    with server.client(ALICE) as alice:
        response = alice.head(inline_url(files["wav"], "media"))
    assert response.headers["content-disposition"] == (
        "inline; filename=\"tone _A_.wav\"; filename*=UTF-8''tone%20%C2%ABA%C2%BB.wav")


def test_ranges_validators_and_head(server, files):
    file = files["webm"]
    url = inline_url(file, "media")
    size = file["size"]
    whole = webm_bytes()
    with server.client(ALICE) as alice:
        part = alice.get(url, headers={"Range": "bytes=100-199"})
        tail = alice.get(url, headers={"Range": "bytes=-50"})
        past = alice.get(url, headers={"Range": f"bytes={size}-"})
        etag = alice.get(url).headers["etag"]
        cached = alice.get(url, headers={"If-None-Match": etag})
        head = alice.head(url)
        head_range = alice.head(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.headers["content-disposition"].startswith("inline;")
    assert part.headers["content-security-policy"] == SANDBOX
    assert tail.status_code == 206 and tail.content == whole[-50:]
    api.assert_api_error(past, 416, "outside the file's")
    assert past.headers["content-range"] == f"bytes */{size}"
    assert cached.status_code == 304 and cached.content == b""
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(size)
    assert head.headers["content-disposition"].startswith("inline;")
    assert head_range.status_code == 206 and head_range.headers["content-length"] == "10"


@pytest.mark.parametrize("actor", [None, BOB], ids=["anonymous", "bob"])
def test_a_denied_actor_gets_what_the_download_gives_them(server, files, actor):
    private = files["private"]
    with server.client(actor) as client:
        download = client.get(private["download_url"])
        media = client.get(inline_url(private, "media"))
        head = client.head(inline_url(private, "media"))
        # A file they may see: served to them as to alice.
        public = client.get(inline_url(files["png"], "image"))
    assert download.status_code == 404
    api.assert_api_error(media, 404)
    assert media.json() == download.json()
    assert head.status_code == 404
    assert public.status_code == 200
    with server.client(ALICE) as alice:
        assert alice.get(inline_url(private, "media")).status_code == 200


def test_unknown_ids_and_methods(server):
    with server.client(ALICE) as alice:
        api.assert_api_error(alice.get("/-/files/df-nosuchfile/-/media"), 404)
        api.assert_api_error(alice.get("/-/files/df-nosuchfile/-/image"), 404)
        api.assert_api_error(alice.post("/-/files/df-nosuchfile/-/image"), 405)


def test_the_image_page_steps_through_the_raster_images_beside_it_in_its_folder(server):
    """Newest first, as the folder lists them; SVG, text and files of other
    folders are not among them."""
    with server.client(ALICE) as alice:
        made = alice.post("/-/files/folders/pub/-/create", json={"folder": "", "name": "Album"})
        assert made.status_code == 201, made.text
        names = [("one.png", "image/png"), ("skip.svg", "image/svg+xml"),
                 ("two.jpg", "image/jpeg"), ("skip.txt", "text/plain"),
                 ("three.gif", "image/gif"), ("four.webp", "image/webp")]
        album = {name: api.upload(alice, "pub", name, image_bytes(8, 8), content_type,
                                  folder="Album") for name, content_type in names}
        page = alice.get(album["two.jpg"]["url"]).text
    links = re.findall(r'href="([^"]+)" data-lightbox data-lightbox-name="([^"]+)"', page)
    assert [name for _, name in links] == ["four.webp", "three.gif", "two.jpg", "one.png"]
    assert links[0][0] == inline_url(album["four.webp"], "image")
    assert 'rel="prev">← three.gif</a>' in page and 'rel="next">one.png →</a>' in page
