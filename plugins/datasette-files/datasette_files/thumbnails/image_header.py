"""An image's size and EXIF orientation, read by Pillow from its header only.

``Image.open`` parses a header and stops before the pixels; nothing here calls
``load()``, so reading a header costs no more memory than the bytes given,
whatever the image claims. The one trap is ``PngImageFile.getexif()``: when a
PNG has no eXIf chunk before its pixels it decodes the whole image to look for
one after them (a 459 KiB PNG of 11000x11000 pixels took 475 MiB). For a PNG
only an eXIf chunk in the header counts. Decoding happens only in the
thumbnail worker's limited process, and only for images within MAX_PIXELS.
"""

from __future__ import annotations

import io
import warnings
from typing import NamedTuple, Optional

from PIL import Image

# An image with more pixels than this gets no dimensions and no thumbnail: a
# likely decompression bomb, and more than the thumbnail worker may decode.
MAX_PIXELS = 50_000_000
EXIF_ORIENTATION = 0x0112
# EXIF orientations 5-8 turn the image by 90 degrees.
TURNED_ORIENTATIONS = (5, 6, 7, 8)
# The formats the thumbnail worker draws; nothing else is parsed here.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")


class ImageHeader(NamedTuple):
    width: int  # as stored, before any EXIF orientation
    height: int
    orientation: int = 1

    @property
    def displayed_size(self) -> tuple[int, int]:
        """(width, height) as shown, EXIF orientation applied."""
        if self.orientation in TURNED_ORIENTATIONS:
            return self.height, self.width
        return self.width, self.height


def displayed_size(head: bytes) -> tuple[Optional[int], Optional[int]]:
    """(width, height) as shown of the image whose first bytes are ``head``;
    (None, None) when they are not a header we read, or for an image of more
    than MAX_PIXELS."""
    header = read_header(head)
    if header is None or not 0 < header.width * header.height <= MAX_PIXELS:
        return None, None
    return header.displayed_size


def read_header(head: bytes) -> Optional[ImageHeader]:
    """The header at the start of ``head``, or None if it is not one of
    FORMATS, or is cut off or spoiled before the dimensions."""
    try:
        with warnings.catch_warnings():
            # Pillow warns of decompression bombs (the cap is ours) and of
            # spoiled EXIF blocks: neither is news for the log.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(head), formats=FORMATS) as image:
                width, height = image.size
                orientation = _orientation(image)
                if image.format == "TIFF" and orientation in TURNED_ORIENTATIONS:
                    # Pillow gives a TIFF's size already turned as shown.
                    width, height = height, width
                return ImageHeader(width, height, orientation)
    except Exception:  # Pillow raises many kinds for headers made up or cut short
        return None


def _orientation(image: Image.Image) -> int:
    try:
        if image.format == "PNG":
            exif = Image.Exif()
            if "exif" in image.info:
                exif.load(image.info["exif"])
        else:
            exif = image.getexif()
        orientation = exif.get(EXIF_ORIENTATION, 1)
    except Exception:  # a spoiled EXIF block leaves the image as stored
        return 1
    return orientation if isinstance(orientation, int) else 1
