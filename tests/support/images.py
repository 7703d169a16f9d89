"""Images made on the fly for the tests."""

import io
import random

from PIL import Image

EXIF_ORIENTATION = 0x0112


def image_bytes(width, height, format="PNG", orientation=None, mode="RGB",
                noise=False) -> bytes:
    """An image of one colour (or of RGB noise, which compresses badly),
    optionally with an EXIF orientation tag."""
    if noise:
        pixels = random.Random(width * height).randbytes(width * height * 3)
        image = Image.frombytes("RGB", (width, height), pixels)
    else:
        image = Image.new(mode, (width, height), "blue" if mode == "RGB" else 1)
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        image.save(out, format, exif=exif)
    else:
        image.save(out, format)
    return out.getvalue()
