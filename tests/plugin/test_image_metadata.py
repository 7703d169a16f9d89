"""An image's dimensions come from its header: no upload makes the server decode pixels."""

import struct
import zlib

import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.images import image_bytes
from support.pool import SourcePool
from support.server import source_config

MIB = 1024


def zero_png(width: int, height: int) -> bytes:
    """An RGBA PNG of zeros with no eXIf chunk, made with zlib: about a
    thousandth of ``width * height * 4`` bytes, all of which a decoder would
    allocate."""
    compressor = zlib.compressobj(9)
    rows = (b"\0" * (1 + 4 * width)) * 100
    idat = b"".join(compressor.compress(rows) for _ in range(height // 100))
    idat += compressor.compress(b"\0" * (1 + 4 * width) * (height % 100)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) \
        + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def huge_png():
    """11000 x 11000 RGBA: 459 KiB stored, 462 MiB decoded (over the pixel cap)."""
    return zero_png(11_000, 11_000)


@pytest.fixture(scope="module")
def large_png():
    """7000 x 7000 RGBA: under 256 KiB (a PUT stores it in the write batch) and
    under the pixel cap, 187 MiB decoded."""
    return zero_png(7_000, 7_000)


def config(sources: dict) -> dict:
    return {"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {"sources": sources}}}


@pytest.fixture
def server(make_server, tmp_path):
    """A server of its own: its peak memory is the test's."""
    return make_server(config({"pics": source_config(tmp_path / "pics")}))


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("images"), kinds=("pics",))


@pytest.fixture(scope="module")
def shared(pool):
    """One server for the tests that do not measure its memory, each with a
    source of its own (``src.pics``)."""
    yield from pool.serve(config(pool.sources()))


def put(client, name: str, content: bytes, content_type: str, source: str = "pics") -> dict:
    response = client.put(f"/-/files/upload/{source}/{name}", content=content,
                          headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text
    return response.json()["file"]


def test_no_upload_decodes_an_image_in_the_server(server, huge_png, large_png):
    """By PUT (read whole, or streamed) and by the three steps (multipart and raw
    bodies), the server's peak memory stays within 20 MiB of where it was."""
    assert len(large_png) < 256 * 1024 < len(huge_png)
    with server.client() as client:
        # Warm up: the first image upload loads what image uploads need.
        put(client, "warm.png", image_bytes(40, 30), "image/png")
        api.upload(client, "pics", "warm.png", image_bytes(40, 30), "image/png")
        before = server.peak_rss_kib()
        uploaded = [
            put(client, "huge.png", huge_png, "image/png"),
            put(client, "large.png", large_png, "image/png"),
            api.upload(client, "pics", "huge.png", huge_png, "image/png"),
            api.upload(client, "pics", "huge.png", huge_png, "image/png", raw=True),
        ]
        grown = server.peak_rss_kib() - before
    assert grown < 20 * MIB, f"the server's peak memory grew by {grown // MIB} MiB"
    # Over the pixel cap: no dimensions. Under it: read from the header.
    assert [(f["width"], f["height"]) for f in uploaded] == [
        (None, None), (7000, 7000), (None, None), (None, None)]


def test_an_image_over_the_pixel_cap_gets_no_thumbnail(shared, src, huge_png):
    with shared.client() as client:
        file = put(client, "huge.png", huge_png, "image/png", src.pics)
        thumbnail = client.get(file["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("format,content_type,orientation,expected", [
    ("JPEG", "image/jpeg", 6, (30, 40)),  # 6: rotated 90 degrees, so shown 30 wide
    ("JPEG", "image/jpeg", 8, (30, 40)),
    ("JPEG", "image/jpeg", 3, (40, 30)),  # upside down: the same width
    ("JPEG", "image/jpeg", None, (40, 30)),
    ("PNG", "image/png", None, (40, 30)),
    ("PNG", "image/png", 6, (30, 40)),
    ("GIF", "image/gif", None, (40, 30)),
    ("WEBP", "image/webp", None, (40, 30)),
    ("WEBP", "image/webp", 6, (30, 40)),
])
def test_dimensions_are_read_from_the_header(shared, src, format, content_type, orientation,
                                             expected):
    content = image_bytes(40, 30, format, orientation=orientation)
    with shared.client() as client:
        by_put = put(client, f"p.{format.lower()}", content, content_type, src.pics)
        by_steps = api.upload(client, src.pics, f"p.{format.lower()}", content, content_type)
    assert (by_put["width"], by_put["height"]) == expected
    assert (by_steps["width"], by_steps["height"]) == expected


def test_a_large_jpeg_with_its_exif_is_measured_by_put_and_by_steps(shared, src):
    """Over 256 KiB, so a PUT streams it into storage and reads the stored head."""
    content = image_bytes(1500, 1000, "JPEG", orientation=6, noise=True)
    assert len(content) > 256 * 1024
    with shared.client() as client:
        by_put = put(client, "big.jpg", content, "image/jpeg", src.pics)
        by_steps = api.upload(client, src.pics, "big.jpg", content, "image/jpeg")
    assert (by_put["width"], by_put["height"]) == (1000, 1500)
    assert (by_steps["width"], by_steps["height"]) == (1000, 1500)
