"""Text, JSON, Markdown and CSV previews in a real browser, at 1280 and 375 px."""

from __future__ import annotations

import json

import pytest

from support import api
from support.browser import screenshot

from test_files_ui import log_in

WIDTHS = (1280, 375)
# Copies for the closing note (screenshots of every preview kind).

CODE = "\n".join([
    '"""A small module, shown as its source."""',
    "",
    "import json",
    "",
    "",
    "def greet(name: str) -> str:",
    '    # <script>alert("not run")</script>',
    '    return f"Hello, {name}!"  ' + "# a long comment " * 12,
    "",
] + [f"VALUE_{n} = {n * n}" for n in range(120)])

MARKDOWN = """# Release notes

Version **2.4** brings *faster* previews and a [changelog](https://example.com/changelog).

- Text, JSON, Markdown and CSV files are shown on their page
- Raw HTML such as <b onclick="alert(1)">this</b> stays text
- A [bad link](javascript:alert(1)) is not a link

> Quoted: previews are built from the first 256 KiB.

| Kind | Shown as |
|------|----------|
| CSV | a table |
| JSON | pretty-printed |

```python
print("code blocks scroll sideways when they are wider than the page, like this long line")
```

![A diagram](https://example.com/diagram.png)
"""

DOCUMENT = {"name": "datasette-files", "version": "0.2.0", "previews": {
    "kinds": ["text", "json", "markdown", "csv"], "limit_bytes": 262144,
    "nested": {"deeper": {"deepest": [1, 2.5, None, True, "<b>escaped</b>"]}}},
    "files": [{"id": f"df-{n:04d}", "size": n * 1024} for n in range(40)]}

COLUMNS = ["id", "region", "city", "product", "units", "unit_price", "total", "currency",
           "salesperson", "date", "status", "notes"]
CSV = "\n".join([",".join(COLUMNS)] + [
    f"{n},North East,Newcastle upon Tyne,Widget {n % 7},{n % 13},{n % 5}.99,"
    f"{(n % 13) * (n % 5)}.87,GBP,Person {n % 11},2025-0{1 + n % 9}-1{n % 10},"
    f"{'shipped' if n % 3 else 'pending'},\"note, with a comma\""
    for n in range(1500)]) + "\n"

FILES = {
    "text": ("greet.py", CODE.encode(), "text/x-python"),
    "json": ("settings.json", json.dumps(DOCUMENT).encode(), "application/json"),
    "markdown": ("RELEASE.md", MARKDOWN.encode(), "text/markdown"),
    "csv": ("sales.csv", CSV.encode(), "text/csv"),
}


@pytest.fixture(scope="module")
def uploaded(app_server):
    with app_server.login("alice", "alice-password") as alice:
        return {kind: api.upload(alice, "team", name, content, content_type)
                for kind, (name, content, content_type) in FILES.items()}


def shots(page, kind: str) -> None:
    """The page at both widths: no sideways page scroll, saved twice."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (kind, width, overflow)
        screenshot(page, f"preview-{kind}")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def box(page, selector: str) -> dict:
    return page.eval_on_selector(selector, """element => ({
        width: element.clientWidth, scrollWidth: element.scrollWidth,
        height: element.clientHeight, scrollHeight: element.scrollHeight,
        pageWidth: document.documentElement.clientWidth})""")


def test_the_four_text_previews(page_factory, uploaded):
    page = page_factory()
    log_in(page)
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))

    page.goto(uploaded["text"]["url"])
    source = page.locator("pre.df-text-preview")
    assert 'alert("not run")' in source.inner_text()
    assert page.locator(".df-preview script").count() == 0
    tall = box(page, "pre.df-text-preview")
    assert tall["scrollHeight"] > tall["height"]  # scrolls inside its box
    shots(page, "text")

    page.goto(uploaded["json"]["url"])
    text = page.locator("pre.df-text-preview").inner_text()
    assert '\n  "version": "0.2.0",\n' in text and '"<b>escaped</b>"' in text
    shots(page, "json")

    page.goto(uploaded["markdown"]["url"])
    rendered = page.locator(".df-markdown")
    assert rendered.locator("h1").inner_text() == "Release notes"
    assert rendered.locator("table td").first.inner_text() == "CSV"
    link = rendered.locator("a", has_text="changelog")
    assert link.get_attribute("rel") == "nofollow noopener noreferrer"
    assert rendered.locator("img").count() == 0
    assert rendered.locator("a.df-md-image").get_attribute("href") == \
        "https://example.com/diagram.png"
    assert "[bad link](javascript:alert(1))" in rendered.inner_text()
    assert rendered.locator("b").count() == 0  # raw HTML stays text
    shots(page, "markdown")

    page.goto(uploaded["csv"]["url"])
    assert page.locator(".df-csv-table tbody tr").count() == 1000
    assert page.locator(".df-csv-table thead th").all_inner_texts() == COLUMNS
    assert "Showing the first 1,000 rows." in page.locator(".df-preview-note").inner_text()
    page.set_viewport_size({"width": 375, "height": 900})
    table = box(page, ".df-csv-scroll")
    assert table["scrollWidth"] > table["width"]  # the table scrolls inside its box
    assert table["width"] <= table["pageWidth"]
    shots(page, "csv")
    assert not alerts
