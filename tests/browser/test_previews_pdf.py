"""The PDF viewer in a real browser: pages the server drew, loaded as they
scroll into view, with the page in view named, at desktop and phone widths."""

from __future__ import annotations


import pytest

from support import api, pdfs
from support.browser import log_in, screenshot

LETTER, A4_LANDSCAPE = (612, 792), (842, 595)


@pytest.fixture(scope="module")
def pdf_files(app_server):
    with app_server.login("alice", "alice-password") as client:
        report = api.upload(client, "team", "Quarterly report.pdf",
                            pdfs.document([LETTER, A4_LANDSCAPE, LETTER, LETTER, LETTER, LETTER],
                                          title="Quarterly report"), "application/pdf")
        many = api.upload(client, "team", "Archive scan.pdf", pdfs.many_pages(),
                          "application/pdf")
    return report, many


def loaded(page, number: int) -> bool:
    return page.locator(f"[data-pdf-page='{number}'] img").evaluate(
        "img => img.complete && img.naturalWidth > 0")


@pytest.mark.parametrize("width", [1280, 375])
def test_the_viewer_shows_pages_as_they_scroll_into_view(page_factory, pdf_files, width):
    report, many = pdf_files
    page = page_factory(width)
    log_in(page)
    page.goto(f"/-/files/{report['id']}")
    first = page.locator("[data-pdf-page='1'] img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=first.element_handle())
    assert first.evaluate("img => img.naturalWidth") == 1200
    assert page.locator("[data-pdf-at]").inner_text() == "Page 1 of 6"
    # The page fits the viewer's width, and the strip fits the screen.
    box = first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not loaded(page, 6)  # not yet in view: not asked for
    page.wait_for_timeout(300)
    screenshot(page, "pdf-viewer")

    strip = page.locator("[data-pdf-pages]")
    strip.evaluate("strip => strip.scrollTo(0, strip.scrollHeight)")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=page.locator("[data-pdf-page='6'] img").element_handle())
    page.wait_for_function(
        "() => document.querySelector('[data-pdf-at]').textContent === 'Page 6 of 6'")
    # The landscape page keeps its shape.
    landscape = page.locator("[data-pdf-page='2'] img").bounding_box()
    assert landscape["width"] > landscape["height"]
    download = page.locator(".df-preview a.df-button", has_text="Download")
    assert download.get_attribute("download") is not None

    page.goto(f"/-/files/{many['id']}")
    capped = page.locator(".df-pdf-capped")
    assert "Showing 50 of 100,000 pages" in capped.inner_text()
    assert page.locator("[data-pdf-page]").count() == 50
    if width == 375:
        screenshot(page, "pdf-viewer-capped")
