"""An image's size and EXIF orientation, read from the bytes of its header.

Nothing here decodes a pixel or inflates a compressed chunk, so reading an
image's header costs no more memory than the header itself, whatever the image
claims. (Pillow's ``getexif()`` decodes a whole PNG that has no eXIf chunk
before its pixels.) Decoding happens only in the thumbnail worker's limited
process, and only for images within ``MAX_PIXELS``.

JPEG, PNG, GIF, WebP, BMP and TIFF: the formats the thumbnail worker draws.
"""

from __future__ import annotations

import struct
from typing import Callable, NamedTuple, Optional

# An image with more pixels than this gets no dimensions and no thumbnail: a
# likely decompression bomb, and more than the thumbnail worker may decode.
MAX_PIXELS = 50_000_000
EXIF_ORIENTATION = 0x0112
# EXIF orientations 5-8 turn the image by 90 degrees.
TURNED_ORIENTATIONS = (5, 6, 7, 8)
# A TIFF's first IFD lists its tags in order; those we want come early.
MAX_TIFF_TAGS = 1000
# What a header cut short or made up raises while we read it.
_MALFORMED = (struct.error, IndexError, KeyError, ValueError)


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
    """The header at the start of ``head``, or None if it is not one of ours,
    or cut off before the dimensions."""
    for signature, parse in _PARSERS:
        if head.startswith(signature):
            try:
                return parse(head)
            except _MALFORMED:
                return None
    return None


def _png(head: bytes) -> Optional[ImageHeader]:
    position, found = 8, None
    # Chunks up to the first IDAT (or the end of the head): IHDR, and an eXIf
    # that comes before the pixels (one after them is past any head).
    while position + 8 <= len(head):
        length, kind = struct.unpack_from(">I4s", head, position)
        data = head[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack_from(">II", data)
            found = ImageHeader(width, height)
        elif kind == b"eXIf" and found is not None and len(data) == length:
            return found._replace(orientation=_tiff_orientation(data))
        elif kind in (b"IDAT", b"IEND"):
            break
        position += 12 + length
    return found


def _gif(head: bytes) -> ImageHeader:
    return ImageHeader(*struct.unpack_from("<HH", head, 6))


def _jpeg(head: bytes) -> Optional[ImageHeader]:
    position, orientation = 2, 1
    while position + 4 <= len(head):
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers with no length
            position += 2
            continue
        (length,) = struct.unpack_from(">H", head, position + 2)
        segment = head[position + 4:position + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\0\0"):
            orientation = _tiff_orientation(segment[6:])
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack_from(">HH", segment, 1)
            return ImageHeader(width, height, orientation)
        elif marker in (0xD9, 0xDA):  # end of image, start of scan: no frame before
            return None
        position += 2 + length
    return None


def _webp(head: bytes) -> Optional[ImageHeader]:
    if head[8:12] != b"WEBP":
        return None
    position, found = 12, None
    while position + 8 <= len(head):
        kind, length = struct.unpack_from("<4sI", head, position)
        data = head[position + 8:position + 8 + length]
        if kind == b"VP8X":
            width = int.from_bytes(data[4:7], "little") + 1
            height = int.from_bytes(data[7:10], "little") + 1
            found = ImageHeader(width, height)
        elif kind == b"VP8 " and found is None:
            if data[3:6] != b"\x9d\x01\x2a":
                return None
            width, height = struct.unpack_from("<HH", data, 6)
            return ImageHeader(width & 0x3FFF, height & 0x3FFF)
        elif kind == b"VP8L" and found is None:
            if data[0] != 0x2F:
                return None
            (bits,) = struct.unpack_from("<I", data, 1)
            return ImageHeader((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        elif kind == b"EXIF" and found is not None and len(data) == length:
            # After the image data: found only in a small file's head.
            return found._replace(orientation=_tiff_orientation(data.removeprefix(b"Exif\0\0")))
        position += 8 + length + (length & 1)  # chunks are padded to even lengths
    return found


def _bmp(head: bytes) -> ImageHeader:
    (header_size,) = struct.unpack_from("<I", head, 14)
    if header_size == 12:  # OS/2 1.x
        return ImageHeader(*struct.unpack_from("<HH", head, 18))
    width, height = struct.unpack_from("<ii", head, 18)
    return ImageHeader(abs(width), abs(height))  # a negative height is stored top-down


def _tiff(head: bytes) -> Optional[ImageHeader]:
    tags = _tiff_tags(head, {256, 257, EXIF_ORIENTATION})
    if 256 not in tags or 257 not in tags:
        return None
    return ImageHeader(tags[256], tags[257], tags.get(EXIF_ORIENTATION, 1))


def _tiff_orientation(tiff: bytes) -> int:
    """The orientation in EXIF data (a TIFF structure), 1 if it says none."""
    try:
        return _tiff_tags(tiff, {EXIF_ORIENTATION}).get(EXIF_ORIENTATION, 1)
    except _MALFORMED:
        return 1


def _tiff_tags(tiff: bytes, wanted: set[int]) -> dict[int, int]:
    """The SHORT or LONG values of the ``wanted`` tags of a TIFF's first IFD."""
    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (offset,) = struct.unpack_from(order + "I", tiff, 4)
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    found = {}
    for index in range(min(count, MAX_TIFF_TAGS)):
        tag, kind = struct.unpack_from(order + "HH", tiff, offset + 2 + 12 * index)
        if tag in wanted and kind in (3, 4):  # SHORT, LONG
            value_format = order + ("H" if kind == 3 else "I")
            (found[tag],) = struct.unpack_from(value_format, tiff, offset + 10 + 12 * index)
    return found


_PARSERS: list[tuple[bytes, Callable[[bytes], Optional[ImageHeader]]]] = [
    (b"\xff\xd8", _jpeg),
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"GIF87a", _gif),
    (b"GIF89a", _gif),
    (b"RIFF", _webp),
    (b"BM", _bmp),
    (b"II*\0", _tiff),
    (b"MM\0*", _tiff),
]
