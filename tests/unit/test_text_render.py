"""The text previews' renderer (previews/render.py), as the worker runs it."""

import pytest

from datasette_files.previews.markdown import is_safe_link, render_markdown
from datasette_files.previews.render import MAX_PRETTY_JSON_CHARS, render_text_preview


@pytest.mark.parametrize("url,safe", [
    ("https://example.com/", True), ("http://x", True), ("mailto:a@b.c", True),
    ("../notes.md", True), ("#top", True), ("/-/files", True),
    ("javascript:alert(1)", False), ("JavaScript:alert(1)", False),
    (" javascript:alert(1)", False), ("data:text/html,x", False), ("vbscript:x", False),
    ("file:///etc/passwd", False),
])
def test_links_keep_only_safe_schemes(url, safe):
    assert is_safe_link(url) is safe


def test_markdown_has_no_raw_html_and_no_images():
    html = render_markdown('<i onclick="x">a</i>\n\n![pic](https://t.example/p.gif)\n')
    assert "<i " not in html and "&lt;i onclick" in html
    assert "<img" not in html and 'href="https://t.example/p.gif"' in html


def test_a_cut_csv_drops_its_last_line_and_a_lone_line_is_kept():
    shown = render_text_preview("csv", b"a,b\n1,2\n3,4\n5,", "x.csv", cut=True)
    assert "<td>3</td>" in shown["html"] and "<td>5</td>" not in shown["html"]
    assert shown["rows_shown"] == 2 and shown["reason"] is None
    lone = render_text_preview("csv", b"a,b,c,d", "x.csv", cut=True)
    assert "cut" in lone["reason"] and ">d<" in lone["html"]


def test_pretty_json_that_would_grow_too_long_is_shown_raw():
    # 40,000 nested levels would not parse; 400 levels, repeated, indent to megabytes.
    nested = "[" * 400 + "0" + "]" * 400
    text = "[" + ",".join([nested] * 40) + "]"
    shown = render_text_preview("json", text.encode(), "x.json", cut=False)
    assert shown["text"] == text and "too long" in shown["reason"]
    assert len(text) * 100 > MAX_PRETTY_JSON_CHARS
