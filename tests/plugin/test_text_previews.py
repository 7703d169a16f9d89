"""Text, code, JSON, Markdown and CSV previews on the file page, over HTTP.

The preview is escaped on the server and built from the file's first 256 KiB;
the heavy kinds render in the limited worker process. One server for the module.
"""

import html.parser
import json
import re
import threading
import time

import pytest

from support.config import ALICE
from support.pool import SourcePool

KIB = 1024
PREVIEW_BYTES = 256 * KIB
HOSTILE = ('<script>alert("file")</script><img src=x onerror=alert(1)>'
           '<svg onload=alert(2)><a href="javascript:alert(3)">a</a>')


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("text-previews"))


@pytest.fixture(scope="module")
def server(pool):
    yield from pool.serve({
        "permissions": {"files-browse": {"id": "alice"}, "files-upload": {"id": "alice"}},
        # A render that takes longer falls back to text (the default is 8 s).
        "plugins": {"datasette-files": {"sources": pool.sources(),
                                        "thumbnail_timeout_seconds": 3}},
    })


def put(client, source: str, name: str, content: bytes, content_type: str) -> dict:
    response = client.put(f"/-/files/upload/{source}/{name}", content=content,
                          headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text
    return response.json()["file"]


def page(client, file: dict) -> str:
    response = client.get(file["url"])
    assert response.status_code == 200, response.text
    return response.text


class Page(html.parser.HTMLParser):
    """The live markup of a page: tags with their attributes, and script bodies."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def assert_nothing_live_from_the_file(self):
        for tag, attrs in self.tags:
            handlers = [name for name in attrs if name.startswith("on")]
            assert not handlers, (tag, attrs)
            assert not (tag == "img" and attrs.get("src") == "x"), attrs
            for name in ("href", "src"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:")), (tag, attrs)
            if tag == "script":
                assert "alert" not in attrs.get("src", ""), attrs
        assert not any("alert" in body for body in self.scripts), self.scripts


def preview_of(text: str) -> str:
    """The page's preview box, as sent."""
    start = text.index('<div class="df-preview">')
    return text[start:text.index('<dl class="df-details">', start)]


def unescaped(text: str) -> str:
    return html.unescape(text)


@pytest.mark.parametrize("name,content_type,kind", [
    ("page.html", "text/html", "text"),
    ("drawing.svg", "image/svg+xml", "text"),
    ("notes.md", "text/markdown", "markdown"),
])
def test_markup_in_a_file_is_never_live(server, src, name, content_type, kind):
    content = HOSTILE
    if kind == "markdown":
        content += ("\n\n[click](javascript:alert(4)) [data](data:text/html,<b>x</b>) "
                    "[ok](https://example.com/) ![tracker](https://tracker.example/p.gif)\n")
    with server.client(ALICE) as alice:
        file = put(alice, src.team, name, content.encode(), content_type)
        text = page(alice, file)
    assert f"df-file-{kind}" in text
    parsed = Page(text)
    parsed.assert_nothing_live_from_the_file()
    preview = preview_of(text)
    if kind == "markdown":
        # Raw HTML is shown as text; only the safe link is a link, with rel.
        assert "&lt;script&gt;" in preview and "alert(4)" in preview
        assert ('<a href="https://example.com/" rel="nofollow noopener noreferrer">ok</a>'
                in preview)
        # The image is a link to it, never fetched by the page.
        assert 'href="https://tracker.example/p.gif"' in preview and "Image: tracker" in preview
        assert not [attrs for tag, attrs in parsed.tags
                    if tag == "img" and "tracker" in attrs.get("src", "")]
    else:
        assert "<pre" in preview and unescaped(preview).count("<script>alert(") == 1


def test_csv_is_a_table_of_at_most_1000_rows(server, src):
    rows = "".join(f"row {n},{n},<b>{n}</b>\n" for n in range(1500))
    with server.client(ALICE) as alice:
        file = put(alice, src.team, "big.csv", ("name,number,markup\n" + rows).encode(),
                   "text/csv")
        text = page(alice, file)
    assert "df-file-csv" in text
    body = text[text.index("<tbody>"):text.index("</tbody>")]
    assert body.count("<tr>") == 1000
    assert '<th scope="col">name</th>' in text and "<td>row 999</td>" in body
    assert "row 1000" not in body and "&lt;b&gt;7&lt;/b&gt;" in body
    assert "Showing the first 1,000 rows." in text
    assert f'href="/-/files/{file["id"]}/download" download>Download the whole file' in text


def test_latin1_csv_and_text(server, src):
    with server.client(ALICE) as alice:
        csv_file = put(alice, src.team, "cafes.csv", "ville,café\nNîmes,crème\n".encode("latin-1"),
                       "text/csv")
        text_file = put(alice, src.team, "menu.txt", "Crème brûlée, 5 E\n".encode("latin-1"),
                        "text/plain")
        csv_page, text_page = page(alice, csv_file), page(alice, text_file)
    assert '<th scope="col">café</th>' in csv_page and "<td>crème</td>" in csv_page
    assert "Crème brûlée, 5 E" in text_page


def test_a_character_cut_at_256_kib(server, src):
    # "é" is two bytes in UTF-8: its first is the preview's last byte.
    head = b"a" * (PREVIEW_BYTES - 1)
    rows = b"".join(b"%d,\xc3\xa9t\xc3\xa9\n" % n for n in range(40000))  # > 256 KiB
    with server.client(ALICE) as alice:
        text_file = put(alice, src.team, "cut.txt", head + "é and more".encode(), "text/plain")
        csv_file = put(alice, src.team, "cut.csv", b"id,season\n" + rows, "text/csv")
        text, table = page(alice, text_file), page(alice, csv_file)
    preview = unescaped(preview_of(text))
    assert "a" * 1000 in preview and "Ã" not in preview and "\ufffd" not in preview
    assert "é" not in preview  # cut, so not shown
    assert f"Showing the first 262,144 of {PREVIEW_BYTES - 1 + 11:,} bytes." in text
    # The CSV's last, cut line is dropped: every row shown is whole.
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", table)
    assert len(cells) == 1000 and all(value == "été" for _, value in cells)
    assert "Showing the first 1,000 rows, from the first 256.0 KiB of" in table


def test_json_pretty_invalid_cut_deep_and_odd_numbers(server, src):
    documents = {
        "pretty.json": b'{"name": "<b>x</b>", "list": [1, 2]}',
        "invalid.json": b'{"name": "x", oops}',
        "cut.json": b"[" + b'{"n": 1},' * 40000 + b"{}]",
        "deep.json": b"[" * 100000 + b"]" * 100000,
        "odd.json": b'{"nan": NaN, "inf": 1e999, "big": ' + b"9" * 5000 + b"}",
        "fine-odd.json": b'{"nan": NaN, "inf": 1e999, "big": ' + b"9" * 100 + b"}",
    }
    with server.client(ALICE) as alice:
        pages = {name: page(alice, put(alice, src.team, name, content, "application/json"))
                 for name, content in documents.items()}
    assert all("df-file-json" in text for text in pages.values())
    pretty = unescaped(preview_of(pages["pretty.json"]))
    assert '{\n  "name": "<b>x</b>",\n  "list": [\n    1,\n    2\n  ]\n}' in pretty
    assert "&lt;b&gt;x&lt;/b&gt;" in pages["pretty.json"]
    assert "This is not valid JSON (" in pages["invalid.json"]
    assert '{"name": "x", oops}' in unescaped(pages["invalid.json"])
    assert "The file is longer than what is shown" in pages["cut.json"]
    assert "Showing the first 256.0 KiB of" in pages["cut.json"]
    assert "nested too deeply" in pages["deep.json"]
    assert "A number in this JSON is too long" in pages["odd.json"]
    assert '"nan": NaN,\n  "inf": Infinity' in unescaped(pages["fine-odd.json"])


def test_a_binary_file_taken_for_text_and_one_gone_from_storage(server, src):
    with server.client(ALICE) as alice:
        file = put(alice, src.team, "data.txt", b"MZ\x90\x00\x03\x00\x00\x00" * 100, "text/plain")
        text = page(alice, file)
        gone = put(alice, src.team, "gone.md", b"# Gone", "text/markdown")
        (src.team_dir / f"{gone['id']}-gone.md").unlink()
        gone_page = page(alice, gone)
    assert "This file looks binary, not like text" in text
    assert "<pre" not in preview_of(text)
    assert "could not be read just now" in gone_page and "<pre" not in preview_of(gone_page)


def test_a_50_mib_text_file(server, src):
    line = b"The quick brown fox jumps over the lazy dog. 0123456789\n"
    content = line * (50 * KIB * KIB // len(line) + 1)
    with server.client(ALICE) as alice:
        file = put(alice, src.team, "huge.log", content, "text/plain")
        started = time.monotonic()
        text = page(alice, file)
        took = time.monotonic() - started
    print(f"\n50 MiB text file's page: {took * 1000:.0f} ms")
    assert "Showing the first 256.0 KiB of 50.0 MiB." in text
    preview = preview_of(text)
    assert len(preview) < PREVIEW_BYTES + 4 * KIB


def test_other_pages_answer_while_a_hostile_preview_renders(server, src):
    # Nested link brackets: markdown-it takes seconds of CPU on 256 KiB of them.
    hostile = b"![" * (PREVIEW_BYTES // 2)
    with server.client(ALICE) as alice:
        slow = put(alice, src.team, "brackets.md", hostile, "text/markdown")
        other = put(alice, src.team, "small.txt", b"hello", "text/plain")
        page(alice, other)  # warm
        outcome = {}

        def view_slow():
            with server.client(ALICE) as client:
                started = time.monotonic()
                outcome["text"] = page(client, slow)
                outcome["took"] = time.monotonic() - started

        thread = threading.Thread(target=view_slow)
        thread.start()
        time.sleep(0.3)
        latencies = []
        while thread.is_alive() and len(latencies) < 200:
            started = time.monotonic()
            assert "hello" in page(alice, other)
            latencies.append(time.monotonic() - started)
        thread.join()
    latencies.sort()
    print(f"\nhostile Markdown page: {outcome['took'] * 1000:.0f} ms; meanwhile "
          f"{len(latencies)} other pages, median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")
    assert latencies, "the other page was not asked for while the preview rendered"
    text = outcome["text"]
    Page(text).assert_nothing_live_from_the_file()
    # Rendered in time or shown as text with the reason: never an error.
    assert "df-markdown" in text or "It took too long to render" in text


def test_bytes_changed_on_disk_never_show_under_the_old_hash(server, src):
    """Rendered previews are cached by what they are made of: a file rewritten
    behind the registry's back (its row keeps the old hash) does not put its
    new preview where a copy of the old bytes would show it."""
    import os

    with server.client(ALICE) as client:
        changed = put(client, src.team, "changed.md", b"# The original\n", "text/markdown")
        copy = put(client, src.team, "copy.md", b"# The original\n", "text/markdown")
        assert changed["content_hash"] and changed["content_hash"] == copy["content_hash"]
        [path] = [src.team_dir / name for name in os.listdir(src.team_dir)
                  if name.startswith(changed["id"])]
        path.write_bytes(b"# Rewritten on disk\n")
        assert "Rewritten on disk" in page(client, changed)
        shown = page(client, copy)
        assert "The original" in shown and "Rewritten on disk" not in shown


def test_a_same_size_rewrite_keeping_its_mtime_never_shows_under_the_old_hash(server, src):
    """As above, when the new bytes have the old size and modification time (a
    restore with ``cp -p`` or ``rsync -t``): nothing in the registry says they
    changed, so previews are kept by the bytes they are made of."""
    import os

    with server.client(ALICE) as client:
        changed = put(client, src.team, "same.md", b"# The original\n", "text/markdown")
        copy = put(client, src.team, "same-copy.md", b"# The original\n", "text/markdown")
        [path] = [src.team_dir / name for name in os.listdir(src.team_dir)
                  if name.startswith(changed["id"])]
        client.get(changed["download_url"])  # seen once: its mtime is registered
        before = path.stat()
        path.write_bytes(b"# Secret copy!\n")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert "Secret copy!" in page(client, changed)
        shown = page(client, copy)
        assert "The original" in shown and "Secret copy!" not in shown


def test_one_table_for_the_same_bytes_named_csv_and_tsv(server, src):
    """The name picks the delimiter when the sniffer cannot: bytes shared by a
    .csv and a .tsv file are two tables, each its own."""
    content = b"a\tb,c\n1\t2,3\n4\n"  # no delimiter the sniffer is sure of
    with server.client(ALICE) as client:
        as_csv = put(client, src.team, "both.csv", content, "text/csv")
        as_tsv = put(client, src.team, "both.tsv", content, "text/tab-separated-values")
        csv_page, tsv_page = page(client, as_csv), page(client, as_tsv)
    # Split at tabs, "b,c" is a cell; split at commas, it is not.
    cell = re.compile(r">\s*b,c\s*<")
    assert cell.search(tsv_page) and not cell.search(csv_page)
