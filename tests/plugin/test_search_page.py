"""The search page over HTTP: filters as chips and form fields, links that keep
or drop them, results that say where they are, pages, the empty state, and the
source page's "Search in this folder" box. Plain HTML: no JavaScript needed."""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser

import pytest

from support.config import ALICE
from support.server import (
    DatasetteServer, assert_no_server_errors, source_config, start_with_files)

REPORTS = 60  # more than a page (50)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two sources whose files are seeded straight into the registry, with
    known dates, sizes, uploaders and folders."""
    data = tmp_path_factory.mktemp("search-page")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": "alice"}},
        "plugins": {"datasette-files": {"sources": {
            "team": source_config(data / "team"), "archive": source_config(data / "archive")}}},
    })
    columns = ("id", "source_slug", "path", "filename", "content_type", "size", "uploaded_by",
               "created_at", "search_text", "folder")
    rows = [(f"df-{n:026d}", "team", f"Reports/2024/report-{n}.txt", f"report-{n}.txt",
             "text/plain", 2000, "alice", "2026-01-01 00:00:00", "", "Reports/2024")
            for n in range(REPORTS)]
    rows += [
        ("df-a0000000000000000000000001", "team", "Photos/holiday.jpg", "holiday.jpg",
         "image/jpeg", 3_000_000, "bob", "2025-06-01 09:00:00", "the beach at sunset", "Photos"),
        ("df-a0000000000000000000000002", "team", "budget.xlsx", "budget.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 50_000,
         "alice", "2026-02-01 10:00:00", "quarterly budget for the whole team", ""),
        ("df-a0000000000000000000000003", "archive", "Old/plan.pdf", "plan.pdf",
         "application/pdf", 200_000_000, "carol", "2020-03-03 03:00:00", "", "Old"),
    ]
    start_with_files(server, [dict(zip(columns, row)) for row in rows])
    yield server
    server.stop()
    assert_no_server_errors(server)


@pytest.fixture(scope="module")
def alice(server):
    with server.client(ALICE) as client:
        yield client


class Page(HTMLParser):
    """What the tests read of a page: its links (href, text, class, label) and
    its form fields."""

    def __init__(self, text: str):
        super().__init__()
        self.links, self.fields, self._open = [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self._open = {**attrs, "text": ""}
            self.links.append(self._open)
        elif tag in ("input", "select"):
            self.fields.append(attrs)

    def handle_endtag(self, tag):
        if tag == "a":
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def classed(self, name: str) -> list[dict]:
        return [a for a in self.links if name in (a.get("class") or "").split()]

    def chips(self) -> dict[str, dict]:
        """The active filters' chips: label -> the query of the link dropping it."""
        return {a["aria-label"].removeprefix("Remove filter: "): query_of(a["href"])
                for a in self.classed("df-chip") if "df-chip-add" not in a["class"]}

    def field(self, name: str, value: str | None = None) -> dict:
        found = [f for f in self.fields if f.get("name") == name
                 and (value is None or f.get("value") == value)]
        assert len(found) == 1, (name, value, found)
        return found[0]


def query_of(href: str) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query)


def get_page(client, **params) -> tuple[str, Page]:
    response = client.get("/-/files/search", params=params)
    assert response.status_code == 200, response.text
    return response.text, Page(response.text)


def names(page: Page) -> list[str]:
    return [a["text"] for a in page.classed("df-result-name")]


def test_each_active_filter_is_a_chip_whose_link_drops_only_it(alice):
    text, page = get_page(alice, q="report", source="team", folder="Reports",
                          kind="text,spreadsheet", uploader="alice", since="2025-12-01",
                          until="2026-03-01", min_size="1kB", sort="name")
    everything = [("q", "report"), ("source", "team"), ("folder", "Reports"), ("kind", "text"),
                  ("kind", "spreadsheet"), ("uploader", "alice"), ("since", "2025-12-01"),
                  ("until", "2026-03-01"), ("min_size", "1kB"), ("sort", "name")]

    def dropping(*names, value=None):
        return [(n, v) for n, v in everything
                if n not in names or (value is not None and v != value)]

    assert page.chips() == {
        "In team / Reports": dropping("folder"),
        "Kind: Text": dropping("kind", value="text"),
        "Kind: Spreadsheet": dropping("kind", value="spreadsheet"),
        "Uploaded by me": dropping("uploader"),
        "Added: 2025-12-01 to 2026-03-01": dropping("since", "until"),
        "Size: from 1 kB": dropping("min_size", "max_size"),
    }
    # Clear all keeps the words and the sort.
    assert [query_of(a["href"]) for a in page.classed("df-clear")] == [
        [("q", "report"), ("sort", "name")]]
    # The form says the same, so that submitting it keeps them.
    assert page.field("q")["value"] == "report"
    assert page.field("folder")["value"] == "Reports"
    assert "checked" in page.field("kind", "text")
    assert "checked" in page.field("kind", "spreadsheet")
    assert "checked" not in page.field("kind", "image")
    assert "checked" in page.field("uploader", "alice")
    assert page.field("since")["value"] == "2025-12-01"
    assert page.field("until")["value"] == "2026-03-01"
    assert page.field("min_size")["value"] == "1kB" and page.field("max_size")["value"] == ""
    assert '<option value="name" selected>' in text
    # The panel counts what is set in it (the folder is not).
    assert '<span class="df-count">(5 active)</span>' in text


def test_kinds_are_read_as_the_engine_reads_them(alice):
    """Any case, with spaces, comma-separated or repeated: each one's chip drops it."""
    _, page = get_page(alice, kind=" Image, PDF", q="x")
    assert page.chips() == {"Kind: Image": [("q", "x"), ("kind", "pdf")],
                            "Kind: PDF": [("q", "x"), ("kind", "image")]}
    assert "checked" in page.field("kind", "image") and "checked" in page.field("kind", "pdf")


def test_presets_are_links_that_set_their_range_and_keep_the_rest(alice):
    _, page = get_page(alice, q="budget", max_size="5MB", until="2026-01-01")
    presets = {a["text"]: query_of(a["href"]) for a in page.links if "data-preset" in a}
    assert presets["1 MB to 100 MB"] == [("q", "budget"), ("until", "2026-01-01"),
                                         ("min_size", "1MB"), ("max_size", "100MB")]
    assert presets["Up to 1 MB"] == [("q", "budget"), ("until", "2026-01-01"),
                                     ("max_size", "1MB")]
    last_week = presets["Last 7 days"]
    assert [name for name, _ in last_week] == ["q", "since", "max_size"]
    # An active preset is marked, and names its chip.
    _, page = get_page(alice, q="budget", max_size="1MB")
    assert [a["text"] for a in page.links if a.get("aria-current")] == ["Up to 1 MB"]
    assert list(page.chips()) == ["Up to 1 MB"]


def test_no_javascript_needed_a_plain_form_and_links(alice):
    text, page = get_page(alice, q="holiday")
    assert '<form class="df-search" action="/-/files/search" method="get"' in text
    assert "<noscript><button type=\"submit\">Sort</button></noscript>" in text
    assert {f["name"] for f in page.fields if f.get("name")} >= {
        "q", "source", "kind", "uploader", "since", "until", "min_size", "max_size", "sort"}


def test_filters_narrow_the_results(alice):
    assert names(get_page(alice, kind="image")[1]) == ["holiday.jpg"]
    assert names(get_page(alice, uploader="bob")[1]) == ["holiday.jpg"]
    assert names(get_page(alice, since="2026-01-15")[1]) == ["budget.xlsx"]
    assert names(get_page(alice, min_size="1MB", max_size="100MB")[1]) == ["holiday.jpg"]
    assert names(get_page(alice, min_size="100MB")[1]) == ["plan.pdf"]
    assert names(get_page(alice, q="budget", kind="spreadsheet")[1]) == ["budget.xlsx"]
    assert names(get_page(alice, source="archive", sort="size")[1]) == ["plan.pdf"]


def test_a_result_shows_its_folder_its_uploader_and_what_matched(alice):
    text, page = get_page(alice, q="sunset")
    assert names(page) == ["holiday.jpg"]
    [folder] = page.classed("df-result-folder")
    assert folder["href"] == "/-/files/source/team?folder=Photos"
    assert folder["text"].strip() == "team / Photos"
    # Matched in the search text: the snippet, marked.
    assert "<mark>sunset</mark>" in text.split('class="df-snippet"')[1].split("</p>")[0]
    # The uploader is a chip that adds the filter.
    [by] = page.classed("df-chip-add")
    assert by["text"] == "by bob"
    assert query_of(by["href"]) == [("q", "sunset"), ("uploader", "bob")]
    # Matched in a folder's name: that, marked.
    text, page = get_page(alice, q="photos")
    assert names(page) == ["holiday.jpg"]
    snippet = text.split('class="df-snippet"')[1].split("</p>")[0]
    assert "Matched in the folder name" in snippet and "<mark>Photos</mark>" in snippet
    # The name is marked when the name matched; no snippet then.
    text, page = get_page(alice, q="holi")
    assert "<mark>holi</mark>day.jpg" in text and 'class="df-snippet"' not in text


def test_previous_and_next_keep_the_filters(alice):
    text, page = get_page(alice, q="report", kind="text")
    assert len(names(page)) == 50
    assert "Page 1 of 2" in text
    assert not [a for a in page.links if a.get("rel") == "prev"]
    [following] = [a for a in page.links if a.get("rel") == "next"]
    query = query_of(following["href"])
    assert query[:2] == [("q", "report"), ("kind", "text")] and query[2][0] == "next"
    text, second = get_page(alice, **dict(query))
    assert len(names(second)) == REPORTS - 50
    assert "Page 2 of 2" in text
    assert not set(names(second)) & set(names(page))
    assert not [a for a in second.links if a.get("rel") == "next"]
    [back] = [a for a in second.links if a.get("rel") == "prev"]
    assert query_of(back["href"])[:2] == [("q", "report"), ("kind", "text")]
    assert names(get_page(alice, **dict(query_of(back["href"])))[1]) == names(page)


def test_empty_state_names_the_filters_and_links_to_drop_each(alice):
    response = alice.get("/-/files/search", params={
        "q": "sunset", "kind": "video", "uploader": "alice"})
    assert response.status_code == 200
    page = Page(response.text)
    assert names(page) == []
    assert "No files match “sunset” with these filters: Kind: Video, Uploaded by me" \
        in response.text
    drops = {a["text"]: query_of(a["href"]) for a in page.links
             if a["text"].startswith("Without")}
    assert drops == {
        "Without “Kind: Video”": [("q", "sunset"), ("uploader", "alice")],
        "Without “Uploaded by me”": [("q", "sunset"), ("kind", "video")],
        "Without any filter": [("q", "sunset")],
    }
    assert "fewer or shorter words" in response.text
    # Dropping both finds the file.
    assert names(get_page(alice, q="sunset")[1]) == ["holiday.jpg"]
    # Words alone: no filter to drop, still the advice on words.
    text, page = get_page(alice, q="zzzqqq")
    assert "No files match “zzzqqq”" in text and "fewer or shorter words" in text
    assert not [a for a in page.links if a["text"].startswith("Without")]
    # A source that is not there (or not the actor's) finds nothing, and can be dropped.
    text, page = get_page(alice, q="report", source="nosuch")
    assert names(page) == [] and page.chips() == {"In nosuch": [("q", "report")]}


def test_a_bad_filter_value_is_a_400_page_with_the_form_to_correct_it(alice):
    response = alice.get("/-/files/search", params={"q": "budget", "since": "last week"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "&#39;since&#39; must be a date" in response.text or \
        "'since' must be a date" in response.text
    page = Page(response.text)
    assert page.field("since")["value"] == "last week"
    [clear] = [a for a in page.links if a["text"] == "search without filters"]
    assert query_of(clear["href"]) == [("q", "budget")]


@pytest.mark.parametrize("folder, label", [(None, "Search in team"),
                                           ("Reports/2024", "Search in this folder")])
def test_the_source_page_has_a_search_box_for_where_it_is(alice, folder, label):
    response = alice.get("/-/files/source/team", params={"folder": folder} if folder else {})
    assert response.status_code == 200
    form = response.text.split('class="df-search-form df-here-search"')[1].split("</form>")[0]
    assert 'action="/-/files/search" method="get"' in form
    assert f'aria-label="{label}"' in form and f'placeholder="{label}"' in form
    assert '<input type="hidden" name="source" value="team">' in form
    assert ('<input type="hidden" name="folder" value="Reports/2024">' in form) == bool(folder)
    # What the box submits: this folder (and below) only.
    params = {"source": "team", "q": "report-1"}
    if folder:
        params["folder"] = folder
    text, page = get_page(alice, **params)
    assert names(page) and all(n.startswith("report-1") for n in names(page))
    if folder:
        assert "In team / Reports / 2024" in page.chips()
    assert names(get_page(alice, source="team", folder="Photos", q="report")[1]) == []
