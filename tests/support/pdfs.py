"""PDFs made in code for the tests: ordinary ones, and hostile ones that stay small.

Written by hand (objects, a cross-reference table, a trailer), so every byte a
test sends is stated here; PDFium reads them in the server's worker.
"""

from __future__ import annotations

from typing import Sequence

HELVETICA = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
# One colour per page, so a screenshot shows pages apart.
BANDS = [b"0.12 0.44 0.92", b"0.09 0.6 0.35", b"0.85 0.35 0.1", b"0.5 0.25 0.75"]


def assemble(objects: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of ``objects`` (object 1 first; object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, trailer_extra, xref))
    return bytes(out)


def stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<</Length %d%s>>stream\n" % (len(content), extra) + content + b"\nendstream"


def page_content(number: int, width: float, height: float, title: str) -> bytes:
    """A coloured band with the page number, and lines of grey 'text'."""
    band = BANDS[(number - 1) % len(BANDS)]
    lines = b"".join(b"72 %d m %d %d l S\n" % (y, int(width) - 72, y)
                     for y in range(int(height) - 160, 100, -18))
    return (b"%s rg 0 %d %d 90 re f\n" % (band, int(height) - 90, int(width))
            + b"BT /F1 28 Tf 1 1 1 rg 36 %d Td (%s) Tj ET\n"
            % (int(height) - 58, f"{title}, page {number}".encode("latin-1"))
            + b"0.75 G 6 w\n" + lines)


def document(sizes: Sequence[tuple[float, float]], title: str = "Report",
             catalog_extra: bytes = b"") -> bytes:
    """A PDF with one page of each size (points), each drawn by page_content."""
    count = len(sizes)
    first_page = 4
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(count))
    objects = [b"<</Type/Catalog/Pages 2 0 R%s>>" % catalog_extra,
               b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, count), HELVETICA]
    for number, (width, height) in enumerate(sizes, 1):
        objects.append(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 %g %g]"
                       b"/Resources<</Font<</F1 3 0 R>>>>/Contents %d 0 R>>"
                       % (width, height, len(objects) + 2))
        objects.append(stream(page_content(number, width, height, title)))
    return assemble(objects)


def many_pages(levels: int = 5, fanout: int = 10) -> bytes:
    """fanout ** levels pages (100,000 by default) in about a kilobyte: each
    level of the page tree lists the one node below it ``fanout`` times, and
    every page shares one content stream."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"", HELVETICA,
               b"<</Type/Page/MediaBox[0 0 612 792]/Resources<</Font<</F1 3 0 R>>>>"
               b"/Contents 5 0 R>>",
               stream(page_content(1, 612, 792, "Shared"))]
    node, count = 4, 1
    for _ in range(levels - 1):
        objects.append(b"<</Type/Pages/Kids[%s]/Count %d>>"
                       % (b" ".join([b"%d 0 R" % node] * fanout), count * fanout))
        node, count = len(objects), count * fanout
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (
        b" ".join([b"%d 0 R" % node] * fanout), count * fanout)
    return assemble(objects)


def page_bomb(inches: int = 200) -> bytes:
    """One page ``inches`` square: 14,400 points, a 100-megapixel bitmap at 72 dpi."""
    side = inches * 72
    return document([(side, side)], title="Bomb")


def javascript() -> bytes:
    """A PDF that runs script when opened (OpenAction) and names more (Names)."""
    action = b"/OpenAction<</S/JavaScript/JS(app.alert\\('opened'\\); this.print\\(\\);)>>"
    return document([(612, 792)], title="Scripted", catalog_extra=action)


def slow_pages(pages: int = 1, depth: int = 9, fanout: int = 10) -> bytes:
    """Pages that each draw a form that draws the next ``fanout`` times, ``depth``
    forms deep: fanout ** depth paths to draw from a few hundred bytes."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b""]
    objects.append(stream(b"0 0 m 500 700 l S", b"/Type/XObject/Subtype/Form/BBox[0 0 612 792]"))
    for _ in range(depth):
        below = len(objects)
        draw = b"q /X Do Q\n" * fanout
        objects.append(stream(draw, b"/Type/XObject/Subtype/Form/BBox[0 0 612 792]"
                                    b"/Resources<</XObject<</X %d 0 R>>>>" % below))
    top = len(objects)
    kids = []
    for _ in range(pages):
        objects.append(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]"
                       b"/Resources<</XObject<</X %d 0 R>>>>/Contents %d 0 R>>"
                       % (top, len(objects) + 2))
        kids.append(b"%d 0 R" % len(objects))
        objects.append(stream(b"/X Do"))
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (b" ".join(kids), pages)
    return assemble(objects)
