"""search.json, batch.json and the registry's full-text index."""

import sqlite3

import pytest

from support.config import OPEN_PERMISSIONS
from support import api
from support.server import source_config


@pytest.fixture(scope="module")
def client(open_server):
    with open_server.client() as client:
        yield client


def search(client, **params):
    response = client.get("/-/files/search.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(result):
    return [f["id"] for f in result["files"]]


def test_finds_by_filename_prefix_content_type_and_search_text(client):
    report = api.upload(client, "one", "quarterly-zebra-report.pdf", b"%PDF", "application/pdf")
    assert report["id"] in ids(search(client, q="zebr"))
    assert report["id"] in ids(search(client, q="quarterly report"))
    assert report["id"] in ids(search(client, q="pdf zebra"))
    # Any word matches; files matching more of the words come first.
    both = api.upload(client, "one", "zebra-giraffe.txt", b"z")
    assert ids(search(client, q="zebra giraffe"))[:2] == [both["id"], report["id"]]
    assert report["id"] not in ids(search(client, q="giraffe okapi"))
    updated = client.post(f"/-/files/{report['id']}/-/update",
                          json={"update": {"search_text": "Annual okapi figures"}})
    assert updated.json()["file"]["search_text"] == "Annual okapi figures"
    assert ids(search(client, q="okapi")) == [report["id"]]
    client.post(f"/-/files/{report['id']}/-/update", json={"update": {"search_text": "none"}})
    assert ids(search(client, q="okapi")) == []


def test_an_exact_file_id_finds_that_file(client):
    # As in the published datasette-files: a df- id pasted from a table cell finds its file.
    file = api.upload(client, "one", "numbat.txt", b"n")
    api.upload(client, "one", "numbat-2.txt", b"n")
    assert ids(search(client, q=file["id"])) == [file["id"]]
    assert ids(search(client, q=f"  {file['id'].upper()} ")) == [file["id"]]
    assert search(client, q=file["id"])["total"] == 1
    assert ids(search(client, q=file["id"], source="two")) == []
    other_id = file["id"][:-1] + ("1" if file["id"].endswith("0") else "0")
    assert ids(search(client, q=other_id)) == []


def test_source_filter(client):
    one = api.upload(client, "one", "walrus.txt", b"1")
    two = api.upload(client, "two", "walrus.txt", b"2")
    assert set(ids(search(client, q="walrus"))) == {one["id"], two["id"]}
    assert ids(search(client, q="walrus", source="two")) == [two["id"]]


def test_the_answer_names_the_filter_and_the_sources_one_may_browse(client):
    # As the published datasette-files answers: the filter as text ("" for none)
    # and the slugs of the sources the actor may browse.
    unfiltered = search(client, q="walrus")
    assert (unfiltered["source"], unfiltered["sources"]) == ("", ["one", "two"])
    filtered = search(client, q="walrus", source="two")
    assert (filtered["source"], filtered["sources"]) == ("two", ["one", "two"])


@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_pages_follow_the_next_cursor(client, sort):
    uploaded = [api.upload(client, "one", f"pangolin{sort}-{n}.txt", b"p")["id"]
                for n in range(7)]
    seen, params = [], {"q": f"pangolin{sort}", "limit": 3, "sort": sort}
    while True:
        result = search(client, **params)
        assert result["total"] == 7 and result["total_is_capped"] is False
        assert result["sort"] == sort
        seen.extend(ids(result))
        if not result["next"]:
            break
        assert result["next_url"].startswith("/-/files/search.json?")
        params["next"] = result["next"]
    assert sorted(seen) == sorted(uploaded) and len(seen) == 7
    if sort == "newest":
        assert seen == list(reversed(uploaded))


def test_empty_query_lists_newest_first(client):
    latest = api.upload(client, "two", "latest.txt", b"l")
    result = search(client)
    assert result["files"][0]["id"] == latest["id"]
    assert result["sort"] == "newest"


@pytest.mark.parametrize(
    "q", ['"', 'NEAR(a b)', "a OR", "*", "filename:x", "(", "^x", "a AND NOT", "'", "-"]
)
def test_fts_syntax_in_queries_is_searched_literally(client, q):
    assert search(client, q=q)["ok"] is True


def test_deleted_files_leave_the_index(client):
    file = api.upload(client, "one", "ephemeral-capybara.txt", b"c")
    assert ids(search(client, q="capybara")) == [file["id"]]
    assert client.post(f"/-/files/{file['id']}/-/delete", json={}).json()["deleted"] == \
        file["id"]
    assert ids(search(client, q="capybara")) == []
    assert client.get(file["download_url"]).status_code == 404


def test_batch(client):
    a = api.upload(client, "one", "a.txt", b"a")
    b = api.upload(client, "two", "b.txt", b"b")
    response = client.get("/-/files/batch.json", params=[
        ("id", a["id"]), ("id", b["id"]), ("id", "df-01aaaaaaaaaaaaaaaaaaaaaaaa"),
        ("id", "junk"), ("id", a["id"])])
    files = response.json()["files"]
    assert files == {a["id"]: a, b["id"]: b}
    # The published datasette-files' batch entries link the file's page as info_url.
    assert files[a["id"]]["info_url"] == f"/-/files/{a['id']}"
    # Ids of files in the trash (none here) come in "trashed", beside the reference's keys.
    assert client.get("/-/files/batch.json").json() == {"ok": True, "files": {}, "trashed": {}}


def bulk_server(make_server, tmp_path, files=10_050, **settings):
    """A server whose registry has ``files`` files named common-N.txt, seeded in
    bulk straight into the registry, as a large registry would be."""
    config = {"permissions": OPEN_PERMISSIONS,
              "plugins": {"datasette-files": {
                  "sources": {"bulk": source_config(tmp_path / "bulk"),
                              "empty": source_config(tmp_path / "empty")},
                  **settings}}}
    server = make_server(config, data_dir=tmp_path / "data")
    server.stop()
    conn = sqlite3.connect(server.internal_db)
    with conn:
        conn.executemany(
            "INSERT INTO datasette_files_files (id, source_slug, path, filename, content_type, "
            "size, created_at) VALUES (?, 'bulk', ?, ?, 'text/plain', 1, '2026-01-01 00:00:00')",
            [(f"df-{n:026d}", f"p{n}", f"common-{n}.txt") for n in range(files)],
        )
    conn.close()
    return server.start()


def test_counts_are_capped_for_terms_matching_very_many_files(make_server, tmp_path):
    server = bulk_server(make_server, tmp_path)
    with server.client() as client:
        result = search(client, q="common", limit=100)
        assert result["total"] == 10_000 and result["total_is_capped"] is True
        assert result["total_display"] == "10,000+"
        # Too many matches to rank by score: every word's matches come newest first.
        assert result["sort"] == "relevance"
        assert result["files"][0]["filename"] == "common-10049.txt"
        # A deep page through the cursor.
        params = {"q": "common", "limit": 500}
        for _ in range(20):
            result = search(client, **params)
            params["next"] = result["next"]
        assert result["files"][-1]["filename"] == "common-50.txt"
        last = search(client, **params)
        assert len(last["files"]) == 50 and last["next"] is None
        assert last["files"][-1]["filename"] == "common-0.txt"
        assert search(client, q="common-1234")["total"] == 1
        # Ranking every match costs as much as the matches: a term with more
        # than 1,000 matches lists them most recently added first.
        ranked = search(client, q="common", sort="relevance")
        assert ranked["sort"] == "relevance"
        assert ranked["files"][0]["filename"] == "common-10049.txt"
        api.assert_api_error(client.get("/-/files/search.json",
                                        params={"q": "common", "next": "o50"}),
                             400, "Invalid cursor")


def test_a_search_out_of_time_answers_503(make_server, tmp_path):
    """Looking through 30,000 matches (none in the source asked for) takes far
    longer than 10 ms: with a limit that short, Datasette checks the clock after
    every SQLite instruction (some 450,000 here). Opening the full-text index
    on a connection, which the limit also covers, takes a few hundred."""
    server = bulk_server(make_server, tmp_path, files=30_000, search_time_limit_ms=10)
    everything = {"q": "common", "source": "empty"}
    with server.client() as client:
        api.assert_api_error(client.get("/-/files/search.json", params=everything),
                             503, "The search took too long")
        page = client.get("/-/files/search", params=everything)
        assert page.status_code == 503 and "The search took too long" in page.text
        assert page.headers["content-type"].startswith("text/html")
        # Other requests go on.
        assert client.get("/-/files/sources.json").status_code == 200


def test_one_character_words_match_whole_words(client):
    """As prefixes they would match a large part of the index (it has no
    one-character prefix index); longer words are prefixes."""
    single = api.upload(client, "one", "q-report.txt", b"q")
    longer = api.upload(client, "one", "quokka-notes.txt", b"q")
    assert single["id"] in ids(search(client, q="q"))
    assert longer["id"] not in ids(search(client, q="q"))
    assert longer["id"] in ids(search(client, q="quo"))


@pytest.mark.parametrize("q", ["\x00", "a\x00b", "\x1f\x7f", "zebra\x00"])
def test_control_characters_in_queries_are_spaces(client, q):
    assert search(client, q=q)["ok"] is True
