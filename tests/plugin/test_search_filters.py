"""search.json's matching, filters, sorts and cursors, against a registry
seeded in bulk (so searches take the plans of a large registry too) and
checked against a plain Python reading of the same rows."""

import re

import pytest

from support import api
from support.api import names, search
from support.server import (
    DatasetteServer, assert_no_server_errors, source_config, start_with_files)

ADMIN = {"id": "admin", "roles": ["admin"]}
MEMBER = {"id": "member", "roles": ["member"]}
BULK = 12_000  # more than the engine sorts in memory: the walks run too
KINDS = [("jpg", "image/jpeg"), ("pdf", "application/pdf"), ("docx", "application/octet-stream"),
         ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         ("mp4", "video/mp4"), ("txt", "text/plain"), ("csv", "text/csv")]
NAMED = [  # (filename, folder, search_text, content_type)
    ("budget.xlsx", "finance", "", "application/vnd.ms-excel"),
    ("report2024-final.pdf", "finance/2024", "", "application/pdf"),
    ("projects5.png", "photos", "", "image/png"),
    ("Résumé.pdf", "hr", "", "application/pdf"),
    ("notes.txt", "photos 2024", "Minutes of the <b>okapi</b> board", "text/plain"),
    ("pro-5.txt", "", "", "text/plain"),
]


def rows():
    """Every seeded file as a dict, in seq order."""
    files = []
    for n in range(BULK):
        extension, content_type = KINDS[n % len(KINDS)]
        folder = ["", "alpha", "alpha/beta", "alpha/beta/gamma", "zeta"][n % 5]
        files.append({
            "id": f"df-{n:026d}", "source_slug": "archive" if n % 4 == 0 else "team",
            "filename": f"{['plan', 'memo', 'scan'][n % 3]}-{n}.{extension}",
            "content_type": content_type, "folder": folder,
            # Dates out of seq order: "newest" sorts by date, not by seq.
            "created_at": f"2025-{1 + (n * 7) % 12:02d}-{1 + n % 28:02d} 12:00:{n % 60:02d}",
            "size": (n * 7919) % 100_000, "uploaded_by": f"user{n % 5}",
            "search_text": f"common {'' if n % 2 else 'even'} n{n}",
        })
    for i, (filename, folder, text, content_type) in enumerate(NAMED):
        files.append({"id": f"df-{BULK + i:026d}", "source_slug": "team", "filename": filename,
                      "content_type": content_type, "folder": folder,
                      "created_at": "2026-06-01 00:00:00", "size": 10 ** (i + 2),
                      "uploaded_by": "named", "search_text": text})
    # Files whose size is not known (the Python API may register one) sort last.
    for n in range(3):
        files.append({"id": f"df-{BULK + 100 + n:026d}", "source_slug": "team",
                      "filename": f"unsized-{n}.txt", "content_type": "text/plain",
                      "folder": "alpha", "created_at": f"2025-02-0{n + 1} 00:00:00", "size": None,
                      "uploaded_by": "user1", "search_text": "common"})
    for file in files:
        file["path"] = f"{file['folder']}/{file['filename']}".lstrip("/")
    return files


ROWS = rows()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("searchfilters")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"team": {"allow": {"roles": ["member", "admin"]}},
                                         "archive": {"allow": {"roles": "admin"}}}},
        "plugins": {"datasette-files": {"sources": {
            "team": source_config(data / "team"), "archive": source_config(data / "archive")}}},
    })
    start_with_files(server, [{**row, "content_hash": "sha256:0"} for row in ROWS])
    yield server
    server.stop()
    assert_no_server_errors(server)


@pytest.fixture(scope="module")
def admin(server):
    with server.client(ADMIN) as client:
        yield client


def everything(client, **params):
    """Every page of a search, following ``next``; the files' ids in order."""
    found, params = [], {**params, "limit": 500}
    while True:
        result = search(client, **params)
        found.extend(f["id"] for f in result["files"])
        if not result["next"]:
            return found, result
        params["next"] = result["next"]


# A plain reading of the matching rules, for ASCII text.
def matches(row, q):
    tokens = re.findall(r"[a-z0-9]+", " ".join(
        (row["filename"], row["content_type"], row["search_text"], row["folder"])).lower())
    for word in q.lower().split():
        if any(t.startswith(word) if len(word) > 1 else t == word for t in tokens):
            return True
        if len(word) >= 3 and word in row["filename"].lower():
            return True
    return False


def expected(q=None, sources=("team", "archive"), sort="newest", **filters):
    found = [r for r in ROWS if r["source_slug"] in sources and (not q or matches(r, q))]
    if "kind" in filters:
        found = [r for r in found if kind_of(r) == filters["kind"]]
    if "uploader" in filters:
        found = [r for r in found if r["uploaded_by"] == filters["uploader"]]
    if "since" in filters:
        found = [r for r in found if r["created_at"][:10] >= filters["since"]]
    if "until" in filters:
        found = [r for r in found if r["created_at"][:10] <= filters["until"]]
    if "min_size" in filters:
        found = [r for r in found if r["size"] is not None and r["size"] >= filters["min_size"]]
    if "folder" in filters:
        folder = filters["folder"]
        found = [r for r in found if r["folder"] == folder or r["folder"].startswith(folder + "/")]
    seq = {r["id"]: n for n, r in enumerate(ROWS)}
    keys = {"newest": lambda r: (r["created_at"], seq[r["id"]]),
            "oldest": lambda r: (r["created_at"], seq[r["id"]]),
            "name": lambda r: (r["filename"].lower(), seq[r["id"]]),
            "size": lambda r: (r["size"] is not None, r["size"] or 0, seq[r["id"]])}
    found.sort(key=keys[sort], reverse=sort in ("newest", "size"))
    return [r["id"] for r in found]


def kind_of(row):
    return {"jpg": "image", "pdf": "pdf", "docx": "document", "xlsx": "spreadsheet",
            "mp4": "video", "txt": "text", "csv": "spreadsheet", "png": "image"}[
        row["filename"].rsplit(".", 1)[1]]


@pytest.mark.parametrize("sort", ["newest", "oldest", "name", "size"])
@pytest.mark.parametrize("params", [
    {},  # walks the sort's index
    {"q": "memo"},  # a third of the files: walks, checking each file's words
    {"q": "n77"},  # few matches: sorted in memory
    {"kind": "video"},  # a filter leaving few files drives the search
    {"q": "common", "kind": "pdf", "source": "team"},
    {"folder": "alpha/beta", "source": "team", "min_size": "50000"},
    {"q": "scan", "since": "2025-03-01", "until": "2025-03-31", "uploader": "user2"},
])
def test_every_plan_finds_the_files_a_plain_reading_finds_in_order(admin, params, sort):
    found, last = everything(admin, **params, sort=sort)
    filters = {k: v for k, v in params.items() if k not in ("q", "source")}
    if "min_size" in filters:
        filters["min_size"] = int(filters["min_size"])
    sources = (params["source"],) if "source" in params else ("team", "archive")
    assert found == expected(params.get("q"), sources, sort, **filters)
    assert last["sort"] == sort


def test_a_member_finds_only_what_they_may_browse(server):
    with server.client(MEMBER) as member:
        for params in ({}, {"q": "memo"}, {"q": "n8"}, {"kind": "video"}, {"sort": "name"}):
            found, _ = everything(member, **{"sort": "newest", **params})
            assert found == expected(params.get("q"), ("team",), params.get("sort", "newest"),
                                     **({"kind": "video"} if "kind" in params else {}))


def test_relevance_finds_any_word_and_ranks_files_with_more_words_first(admin):
    # As the published datasette-files does: "pro 5" finds projects5.png.
    result = search(admin, q="pro 5")
    assert "projects5.png" in names(result)
    assert names(result)[0] == "pro-5.txt"  # both words
    assert result["sort"] == "relevance"


def test_substrings_of_three_characters_or_more_are_found_in_names(admin):
    assert names(search(admin, q="udge")) == ["budget.xlsx"]
    assert "report2024-final.pdf" in names(search(admin, q="2024"))
    # Shorter: word prefixes only ("ud" starts no word).
    assert "budget.xlsx" not in names(search(admin, q="ud"))


def test_diacritics_are_folded(admin):
    assert names(search(admin, q="resume")) == ["Résumé.pdf"]
    # Inside a name they count (SQLite's trigram index folds them from 3.45 only),
    # as the README says.
    assert names(search(admin, q="esum")) == []
    assert names(search(admin, q="ésum")) == ["Résumé.pdf"]


def test_folder_filter_takes_subfolders_but_not_look_alike_siblings(admin):
    found = names(search(admin, source="team", folder="finance"))
    assert sorted(found) == ["budget.xlsx", "report2024-final.pdf"]
    photos = names(search(admin, source="team", folder="photos", q="notes"))
    assert photos == []  # notes.txt is in "photos 2024", not below "photos"


def test_a_match_in_the_search_text_or_folder_shows_as_an_escaped_snippet(admin):
    result = search(admin, q="okapi")
    (file,) = result["files"]
    assert file["match"]["field"] == "search_text"
    assert file["match"]["snippet_html"] == \
        "Minutes of the &lt;b&gt;<mark>okapi</mark>&lt;/b&gt; board"
    assert file["kind"] == "text"
    folder = search(admin, q="finance")["files"][0]
    assert folder["match"]["field"] == "folder"
    assert "<mark>finance</mark>" in folder["match"]["snippet_html"]


def test_kind_comes_from_the_type_and_then_the_extension(admin):
    documents = search(admin, kind="document", limit=3)
    assert all(f["filename"].endswith(".docx") for f in documents["files"])
    both = search(admin, kind="video,pdf", uploader="named")
    assert sorted(names(both)) == ["Résumé.pdf", "report2024-final.pdf"]
    assert both["filters"]["kind"] == ["video", "pdf"]


def test_previous_leads_back_to_the_same_pages(admin):
    params = {"q": "memo", "sort": "name", "limit": 7}
    first = search(admin, **params)
    assert first["page"] == 1 and first["previous"] is None
    second = search(admin, **params, next=first["next"])
    third = search(admin, **params, next=second["next"])
    assert third["page"] == 3
    back = search(admin, **params, next=third["previous"])
    assert back["page"] == 2 and names(back) == names(second)
    start = search(admin, **params, next=back["previous"])
    assert start["page"] == 1 and names(start) == names(first) and start["previous"] is None
    assert first["pages"] == -(-first["total"] // 7) and first["total"] == 4000


@pytest.mark.parametrize("params, message", [
    ({"kind": "pictures"}, "'kind' must be one of"),
    ({"since": "2025-13-01"}, "'since' must be a date"),
    ({"until": "yesterday"}, "'until' must be a date"),
    ({"since": "2025-05-01", "until": "2025-04-01"}, "'since' must not be after 'until'"),
    ({"min_size": "ten"}, "'min_size' must be a size"),
    ({"max_size": "5 parsecs"}, "'max_size' must be a size"),
    ({"min_size": "5MB", "max_size": "1MB"}, "'min_size' must not be larger"),
    ({"sort": "random"}, "'sort' must be one of"),
    ({"next": "bm90IGEgY3Vyc29y"}, "Invalid cursor"),
])
def test_bad_parameters_are_400s_naming_them(admin, params, message):
    api.assert_api_error(admin.get("/-/files/search.json", params=params), 400, message)


def test_sizes_take_units(admin):
    result = search(admin, uploader="named", min_size="1kB", max_size="1MiB")
    assert result["filters"]["min_size"] == 1000 and result["filters"]["max_size"] == 1048576
    assert sorted(names(result)) == ["Résumé.pdf", "notes.txt", "projects5.png",
                                     "report2024-final.pdf"]


def test_relevance_over_a_few_thousand_matches_counts_them_exactly(admin):
    # "memo" names a third of the files: too many to rank by score, few
    # enough to count; the total is theirs, not an estimate past them.
    result = search(admin, q="memo")
    assert result["total"] == len(expected("memo"))
    assert not result["total_is_capped"]


@pytest.mark.parametrize("sort", ["newest", "name", "size"])
def test_a_search_that_finds_nothing_is_an_empty_page(admin, sort):
    result = search(admin, uploader="nobody", sort=sort)
    assert (result["files"], result["total"], result["next"], result["previous"]) == ([], 0, None, None)


@pytest.mark.parametrize("sort", ["name", "newest"])
def test_a_walk_finds_accented_text_its_quick_substring_test_cannot_judge(admin, sort):
    """Walks test a file's text for the word as a substring before asking the
    index; "resume" is no substring of "Résumé", which the index still finds."""
    found, last = everything(admin, q="common resume", sort=sort)
    assert last["total_is_capped"] is True  # many matches: a walk
    by_id = {row["id"]: row["filename"] for row in ROWS}
    assert "Résumé.pdf" in [by_id[file_id] for file_id in found]
