"""The header reader finds what Pillow finds on a full read, and gives up on anything else."""

import io
import struct
import zlib

import pytest
from PIL import Image

from datasette_files.thumbnails.image_header import (
    EXIF_ORIENTATION, MAX_PIXELS, displayed_size, read_header)

FORMATS = [
    ("JPEG", "RGB", {}), ("JPEG", "L", {}), ("JPEG", "RGB", {"progressive": True}),
    ("PNG", "RGB", {}), ("PNG", "RGBA", {}), ("PNG", "P", {}), ("PNG", "1", {}),
    ("GIF", "P", {}), ("WEBP", "RGB", {}), ("WEBP", "RGBA", {}),
    ("WEBP", "RGB", {"lossless": True}), ("BMP", "RGB", {}), ("TIFF", "RGB", {}),
]


def pillow_image(format, mode, size, orientation=None, **options) -> bytes:
    out = io.BytesIO()
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        options["exif"] = exif
    Image.new(mode, size).save(out, format, **options)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("format,mode,options", FORMATS)
@pytest.mark.parametrize("size", [(1, 1), (40, 30), (301, 1999), (16383, 2)])
def test_the_size_is_what_pillow_reads(format, mode, options, size):
    content = pillow_image(format, mode, size, **options)
    with Image.open(io.BytesIO(content)) as image:
        expected = image.size
    assert read_header(content)[:2] == expected


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_orientation_is_what_pillow_reads(format, orientation):
    content = pillow_image(format, "RGB", (40, 30), orientation)
    with Image.open(io.BytesIO(content)) as image:
        assert image.getexif().get(EXIF_ORIENTATION) == orientation
    assert read_header(content).orientation == orientation
    assert displayed_size(content) == ((30, 40) if orientation >= 5 else (40, 30))


def test_an_image_over_the_pixel_cap_has_no_size():
    side = int(MAX_PIXELS ** 0.5) + 1
    header = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)) + png_chunk(b"IDAT", b"")
    assert read_header(header)[:2] == (side, side)
    assert displayed_size(header) == (None, None)
    assert displayed_size(header.replace(struct.pack(">II", side, side),
                                         struct.pack(">II", 0, 7))) == (None, None)


@pytest.mark.parametrize("format", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_a_header_cut_short_or_spoiled_gives_up(format):
    content = pillow_image(format, "RGB", (40, 30), 6 if format != "GIF" else None)
    for cut in range(0, min(len(content), 400)):
        displayed_size(content[:cut])  # never raises
    assert displayed_size(content[:5]) == (None, None)
    spoiled = bytearray(content)
    for position in range(8, min(len(content), 300), 7):
        spoiled[position] ^= 0xFF
        displayed_size(bytes(spoiled))


@pytest.mark.parametrize("content", [
    b"", b"not an image", b"\xff\xd8" + b"\xff" * 10_000, b"RIFF\0\0\0\0WAVE",
    b"\xff\xd8\xff\xda\0\x02", b"II*\0\xff\xff\xff\xff", b"MM\0*\0\0\0\x08\xff\xff",
])
def test_what_is_not_an_image_header_has_no_size(content):
    assert displayed_size(content) == (None, None)
