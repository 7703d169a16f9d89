"""search.json under hostile or unlucky requests: totals that must not
overstate, dates at the edges, query words that must not become costly
prefixes, cursors that are not ours. Seeded straight into the internal
database, as test_search_filters.py does."""


import pytest

from support.api import names, search
from support.server import (
    DatasetteServer, assert_no_server_errors, source_config, start_with_files)

ADMIN = {"id": "admin", "roles": ["admin"]}
# More than the engine ranks by score (1,000) and than a walk's estimate reads
# (5,000), fewer than it sorts in memory (10,000).
OKAPIS = 5_200


def rows():
    files = []
    for n in range(OKAPIS):
        files.append((f"okapi-{n}.txt", "animals", f"okapi n{n}", "2025-03-01 10:00:00"))
    files += [
        ("leap.txt", "", "", "2024-02-29 23:59:59"),
        ("far-future.txt", "", "", "9999-12-31 12:00:00"),
        ("a_b.txt", "", "", "2025-01-01 00:00:00"),
        ("a_bison.txt", "", "", "2025-01-01 00:00:00"),
        ("herd.txt", "", "a bison", "2025-01-01 00:00:00"),
    ]
    return [{"id": f"df-{n:026d}", "source_slug": "team", "filename": filename,
             "path": f"{folder}/{filename}".lstrip("/"), "folder": folder,
             "content_type": "text/plain", "created_at": created, "size": 10,
             "uploaded_by": "user", "search_text": text}
            for n, (filename, folder, text, created) in enumerate(files)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("searchhostile")
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"team": {"allow": {"roles": ["admin"]}}}},
        "plugins": {"datasette-files": {"sources": {"team": source_config(data / "team")}}},
    })
    start_with_files(server, [{**row, "content_hash": "sha256:0"} for row in rows()])
    yield server
    server.stop()
    assert_no_server_errors(server)


@pytest.fixture(scope="module")
def admin(server):
    with server.client(ADMIN) as client:
        yield client


def test_relevance_over_a_few_thousand_matches_counts_them_exactly(admin):
    # The words match more files than are ranked by score, but few enough
    # to count: the total is exact, not "at least 10,000".
    result = search(admin, q="okapi", limit=500)
    assert (result["total"], result["total_is_capped"]) == (OKAPIS, False)
    assert (result["pages"], result["pages_is_capped"]) == (-(-OKAPIS // 500), False)
    # As every other sort of the same search says.
    newest = search(admin, q="okapi", sort="newest", limit=500)
    assert (newest["total"], newest["total_is_capped"]) == (OKAPIS, False)


def test_a_word_ending_in_one_character_does_not_prefix_match_with_it(admin):
    # "a_b" is the phrase "a b" to the word index: its last piece "b", like a
    # one-character word, matches "b" whole. As a prefix it would merge the
    # entries of every word starting with "b", for each file a walk checks.
    assert "herd.txt" not in names(search(admin, q="b"))  # "a bison"
    assert names(search(admin, q="a_b", sort="name")) == ["a_b.txt", "a_bison.txt"]  # + substring
    # A last piece of two characters or more is still a prefix.
    assert names(search(admin, q="a_bi", sort="name")) == ["a_bison.txt", "herd.txt"]


@pytest.mark.parametrize("params, expected", [
    ({"since": "2024-02-29", "until": "2024-02-29"}, ["leap.txt"]),
    ({"since": "9999-12-31", "until": "9999-12-31"}, ["far-future.txt"]),
    ({"since": "0001-01-01", "until": "2024-12-31"}, ["leap.txt"]),
    ({"until": "9999-12-31", "q": "far"}, ["far-future.txt"]),
])
def test_dates_at_the_edges_of_the_calendar_are_dates(admin, params, expected):
    # Valid YYYY-MM-DD dates, as a date picker's bounds send them.
    result = search(admin, **params)
    assert names(result) == expected
    assert result["filters"]["since"] == params.get("since")
