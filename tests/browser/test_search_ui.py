"""The search page in a real browser: from a folder's "Search in this folder"
box to filter chips, presets and the sort; the empty state; the same without
JavaScript; readable (contrast) and usable at 375 px."""

from __future__ import annotations

import pytest

from support import api
from support.browser import log_in, screenshot
from support.images import image_bytes

WIDTHS = [1280, 375]


@pytest.fixture(scope="module")
def files(app_server):
    """In team: Reports/2024/budget-2024.xlsx (described), a photo and notes at the root."""
    with app_server.login("alice", "alice-password") as alice:
        for parent, name in [("", "Reports"), ("Reports", "2024")]:
            made = alice.post("/-/files/folders/team/-/create", json={"folder": parent, "name": name})
            assert made.status_code == 201, made.text
        budget = api.upload(
            alice, "team", "budget-2024.xlsx", b"PK\x03\x04 not really a spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            folder="Reports/2024")
        alice.post(f"/-/files/{budget['id']}/-/update", json={"update": {
            "search_text": "The quarterly budget for the whole team, approved in March"}})
        api.upload(alice, "team", "budget-photo.png", image_bytes(40, 30), "image/png")
        api.upload(alice, "team", "notes.txt", b"notes", "text/plain", folder="Reports")
    return {"budget": budget}


def no_overflow(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow


def open_filters(page):
    if not page.locator("details.df-filters").evaluate("details => details.open"):
        page.locator(".df-filters summary").click()


def chip_labels(page):
    return [" ".join(text.split()) for text in page.locator(".df-chips .df-chip").all_text_contents()]


def result_names(page):
    return page.locator(".df-result-name").all_inner_texts()


# The contrast ratio of an element's text against the first opaque background
# behind it (WCAG 2's formula).
CONTRAST = """element => {
  const rgb = text => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  let background = [255, 255, 255];
  for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { background = colour.slice(0, 3); break; }
  }
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def assert_readable(page, selectors):
    for selector in selectors:
        for element in page.locator(selector).element_handles():
            ratio = element.evaluate(CONTRAST)
            assert ratio >= 4.5, (selector, element.inner_text(), ratio)


@pytest.mark.parametrize("width", WIDTHS)
def test_search_a_folder_then_narrow_with_chips(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/team?folder=Reports")
    box = page.get_by_role("searchbox", name="Search in this folder")
    box.fill("budget")
    box.press("Enter")
    page.wait_for_url("**/-/files/search?*")
    assert chip_labels(page) == ["In team / Reports ×"]
    assert result_names(page) == ["budget-2024.xlsx"]  # not the photo at the root
    result = page.locator(".df-result").first
    assert result.locator(".df-result-folder").inner_text().strip() == "team / Reports / 2024"
    assert "budget" in result.locator(".df-result-name mark").first.inner_text().lower()

    # A kind, ticked in the filters, then a date preset: both become chips, and
    # the preset keeps words typed since (JavaScript fills the form and sends it).
    open_filters(page)
    page.get_by_label("Spreadsheet").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**kind=spreadsheet*")
    page.fill("#df-q", "quarterly")
    open_filters(page)
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url("**since=*")
    assert "q=quarterly" in page.url and "min_size" not in page.url  # no empty fields
    assert chip_labels(page) == ["In team / Reports ×", "Kind: Spreadsheet ×", "Last 7 days ×"]
    assert result_names(page) == ["budget-2024.xlsx"]
    # Matched in the description: the snippet says so, marked.
    assert page.locator(".df-snippet mark").first.inner_text().lower() == "quarterly"
    no_overflow(page)
    assert_readable(page, [".df-chip", ".df-presets a", ".df-result-folder", ".df-snippet",
                           ".df-meta", ".df-subtle", ".df-result-name"])
    screenshot(page, "search-filters")

    # Choosing a sort searches at once; a chip's × drops its filter only.
    page.select_option("#df-sort", "name")
    page.wait_for_url("**sort=name*")
    page.get_by_role("link", name="Remove filter: Kind: Spreadsheet").click()
    page.wait_for_url(lambda url: "kind=" not in url)
    assert chip_labels(page) == ["In team / Reports ×", "Last 7 days ×"]
    assert "sort=name" in page.url and "q=quarterly" in page.url
    # The uploader of a result, as a chip that adds the filter.
    page.locator(".df-chip-add").first.click()
    page.wait_for_url("**uploader=alice*")
    assert "Uploaded by me ×" in chip_labels(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_empty_state_offers_to_drop_each_filter(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/search?q=budget&kind=video&source=team&folder=Reports")
    empty = page.locator(".df-empty-state")
    assert "No files match “budget” with these filters: In team / Reports, Kind: Video" \
        in empty.inner_text()
    assert "fewer or shorter words" in empty.inner_text()
    no_overflow(page)
    assert_readable(page, [".df-empty-state h2", ".df-empty-state p", ".df-drop-list a"])
    screenshot(page, "search-empty")
    empty.get_by_role("link", name="Without “Kind: Video”").click()
    page.wait_for_selector(".df-result")
    assert result_names(page) == ["budget-2024.xlsx"]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_source_page_search_box(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/team")
    box = page.get_by_role("searchbox", name="Search in team")
    assert box.is_visible()
    no_overflow(page)
    screenshot(page, "source-search-box")
    box.fill("budget")
    page.keyboard.press("Enter")
    page.wait_for_url("**/-/files/search?*")
    assert sorted(result_names(page)) == ["budget-2024.xlsx", "budget-photo.png"]
    assert chip_labels(page) == ["In team ×"]


def test_filters_work_without_javascript(page_factory, files):
    page = page_factory(javascript=False)
    log_in(page)
    page.goto("/-/files/search?q=budget")
    assert sorted(result_names(page)) == ["budget-2024.xlsx", "budget-photo.png"]
    open_filters(page)
    page.get_by_label("Image", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**kind=image*")
    assert result_names(page) == ["budget-photo.png"]
    assert chip_labels(page) == ["Kind: Image ×"]
    # A preset is a plain link; the sort has its own button.
    open_filters(page)
    page.get_by_role("link", name="Up to 1 MB").click()
    page.wait_for_url("**max_size=1MB*")
    assert chip_labels(page) == ["Kind: Image ×", "Up to 1 MB ×"]
    page.select_option("#df-sort", "name")
    page.get_by_role("button", name="Sort").click()
    page.wait_for_url("**sort=name*")
    page.get_by_role("link", name="Clear all").click()
    page.wait_for_url(lambda url: "kind=" not in url and "max_size" not in url)
    assert "q=budget" in page.url and chip_labels(page) == []
