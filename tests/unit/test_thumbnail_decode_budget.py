"""The Pillow generator decodes no more pixels than fit the worker's budget:
a thumbnail worker on a 256 MB machine must not take most of it."""

import io

import pytest
from PIL import Image

from datasette_files.thumbnails.pillow import MAX_DECODED_BYTES, render


def encoded(mode: str, size: tuple[int, int], format: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format, **options)
    return out.getvalue()


def test_an_image_whose_pixels_exceed_the_budget_is_refused_before_decoding():
    side = int((MAX_DECODED_BYTES / 4) ** 0.5) + 16  # RGBA: 4 bytes a pixel
    with pytest.raises(ValueError, match="too large to decode"):
        render(encoded("RGBA", (side, side)), 200, 200)


def test_one_byte_pixels_may_be_four_times_as_many():
    side = int((MAX_DECODED_BYTES / 4) ** 0.5) + 16
    result = render(encoded("L", (side, side)), 200, 200)
    assert (result.width, result.height) == (200, 200)


def test_a_big_jpeg_is_drafted_small_so_it_fits():
    # 7000 x 7000 RGB would be 196 MB decoded; JPEG decodes at 1/8 scale.
    result = render(encoded("RGB", (7000, 7000), "JPEG", quality=10), 200, 200)
    assert (result.width, result.height) == (200, 200)


@pytest.mark.parametrize("format", ["JPEG", "TIFF", "WEBP", "PNG"])
@pytest.mark.parametrize("orientation,box,expected", [
    (1, (200, 200), (200, 100)), (6, (200, 200), (100, 200)),
    (6, (200, 300), (150, 300)), (8, (300, 200), (100, 200)), (3, (300, 200), (300, 150))])
def test_orientation_is_applied_and_the_thumbnail_fits_the_box_as_shown(
        format, orientation, box, expected):
    exif = Image.Exif()
    exif[0x0112] = orientation
    result = render(encoded("RGB", (400, 200), format, exif=exif), *box)
    assert (result.width, result.height) == expected
