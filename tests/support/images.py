"""Images made on the fly for the tests."""

import io

from PIL import Image

EXIF_ORIENTATION = 0x0112


def image_bytes(width, height, format="PNG", orientation=None, mode="RGB") -> bytes:
    """An image of one colour, optionally with an EXIF orientation tag."""
    image = Image.new(mode, (width, height), "blue" if mode == "RGB" else 1)
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        image.save(out, format, exif=exif)
    else:
        image.save(out, format)
    return out.getvalue()
