"""Import as table: preview, permissions, the job, and malformed input."""

import sqlite3
import time

import pytest

from support import api
from support.config import ALICE, BOB
from support.server import DatasetteServer, source_config


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("import")
    sqlite3.connect(data / "data.db").close()
    server = DatasetteServer(data, {
        "permissions": {"files-browse": {"id": ["alice", "bob", "carol"]},
                        "files-upload": {"id": ["alice", "bob"]},
                        "create-table": {"id": ["alice", "carol"]},
                        "insert-row": {"id": "alice"},
                        "view-table": True},
        "plugins": {"datasette-files": {"sources": {"csvs": source_config(data / "csvs")}}},
    }, extra_args=[str(data / "data.db")]).start()
    yield server
    server.stop()


def upload_csv(server, name, content, content_type="text/csv"):
    with server.client(ALICE) as alice:
        return api.upload(alice, "csvs", name, content, content_type)


def run(server, file, table, actor=ALICE, **extra):
    with server.client(actor) as client:
        started = client.post(f"/-/files/import/{file['id']}",
                              json={"database": "data", "table_name": table, **extra})
        if started.status_code != 202:
            return started
        for _ in range(600):
            job = client.get(started.json()["json_url"]).json()
            if job["state"] in ("done", "failed", "interrupted"):
                return job
            time.sleep(0.1)
    raise AssertionError("the import did not finish")


def query(server, sql):
    conn = sqlite3.connect(server.data_dir / "data.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_preview_and_the_file_action(server):
    file = upload_csv(server, "Sales 2025.csv", b"region,units,price\nnorth,3,1.5\nsouth,,2\n")
    with server.client(ALICE) as alice:
        page = alice.get(f"/-/files/{file['id']}").text
        assert f'href="/-/files/import/{file["id"]}"' in page and "Import as table" in page
        preview = alice.get(f"/-/files/import/{file['id']}")
    assert preview.status_code == 200
    assert "comma-separated, with header row" in preview.text
    assert 'value="sales_2025"' in preview.text
    assert "<option>data</option>" in preview.text
    for cell in ("region", "units", "INTEGER", "price", "REAL", "north"):
        assert cell in preview.text


def test_import_with_types_nulls_quotes_and_a_link(server):
    content = (b"\xef\xbb\xbfname,count,ratio,note\n"
               b'alpha,1,0.5,"multi\nline"\n'
               b'beta,,2,"quoted, comma"\n'
               b"gamma,3,1e3,\n")
    file = upload_csv(server, "types.csv", content)
    job = run(server, file, "types")
    assert job["state"] == "done", job
    assert job["rows_imported"] == 3 and job["percent"] == 100.0
    assert job["table_url"] == "/data/types"
    # The published datasette-files' names for the same facts, which its clients read.
    assert job["id"] == job["import_id"] and job["file_id"] == file["id"]
    assert (job["import_type"], job["database_name"], job["table_name"]) == (
        "csv", "data", "types")
    assert (job["row_count"], job["total_size"]) == (3, len(content))
    assert job["started_at"] <= job["finished_at"]
    assert query(server, "SELECT name, type FROM pragma_table_info('types')") == [
        ("name", "TEXT"), ("count", "INTEGER"), ("ratio", "REAL"), ("note", "TEXT")]
    assert query(server, "SELECT * FROM types") == [
        ("alpha", 1, 0.5, "multi\nline"), ("beta", None, 2.0, "quoted, comma"),
        ("gamma", 3, 1000.0, None)]


def test_types_hold_for_the_whole_file(server):
    lines = [b"id,code"] + [f"{n},{n * 7}".encode() for n in range(100_001)] + [b"100001,N/A"]
    job = run(server, upload_csv(server, "late.csv", b"\n".join(lines) + b"\n"), "late")
    assert job["state"] == "done" and job["rows_imported"] == 100_002
    assert query(server, "SELECT type FROM pragma_table_info('late')") == [("INTEGER",), ("TEXT",)]
    assert query(server, "SELECT code FROM late WHERE id = 100001") == [("N/A",)]


def test_status_in_the_published_plugins_words_and_state_in_ours(server):
    # Clients of the published datasette-files poll status until "finished" or "error".
    good = run(server, upload_csv(server, "status-words.csv", b"a\n1\n"), "status_words")
    assert (good["status"], good["state"]) == ("finished", "done")
    bad = run(server, upload_csv(server, "empty-words.csv", b""), "empty_words")
    assert (bad["status"], bad["state"]) == ("error", "failed")


def test_tsv_and_latin1_fallback_late_in_the_file(server):
    body = b"".join(f"r{n}\tcaf\xc3\xa9\n".encode("latin-1") for n in range(50_000))
    content = b"key\tword\n" + body + b"late\tna\xefve\n"  # Latin-1 byte near the end
    job = run(server, upload_csv(server, "words.tsv", content,
                                 "text/tab-separated-values"), "words", delimiter="\t")
    assert job["state"] == "done", job
    assert job["encoding"] == "latin-1"
    assert query(server, "SELECT word FROM words WHERE key = 'late'") == [("na\xefve",)]


def test_ragged_rows_are_reported(server):
    job = run(server, upload_csv(server, "ragged.csv", b"a,b\n1,2\n3\n4,5,6\n"), "ragged")
    assert job["state"] == "done" and job["ragged_rows"] == 2
    assert "lines 3, 4" in job["message"]
    assert query(server, "SELECT * FROM ragged") == [(1, 2), (3, None), (4, 5)]


def test_a_huge_single_field(server):
    job = run(server, upload_csv(server, "big-field.csv",
                                 b"id,blob\n1," + b"x" * 10_000_000 + b"\n"), "big_field")
    assert job["state"] == "done"
    assert query(server, "SELECT length(blob) FROM big_field") == [(10_000_000,)]


def test_header_only_makes_an_empty_table(server):
    job = run(server, upload_csv(server, "header.csv", b"a,b,c\n"), "header_only")
    assert job["state"] == "done" and job["rows_imported"] == 0
    assert query(server, "SELECT count(*) FROM header_only") == [(0,)]


@pytest.mark.parametrize("name,content,error", [
    ("empty.csv", b"", "the file is empty"),
    ("junk.csv", b"a,b\n1,2\n\x00\x01\x02\xff\x00\n", "NUL"),
])
def test_failures_leave_no_table(server, name, content, error):
    table = name.split(".")[0] + "_t"
    job = run(server, upload_csv(server, name, content), table)
    assert job["state"] == "failed" and error in job["error"], job
    assert "Nothing was imported" in job["error"]
    assert query(server, f"SELECT count(*) FROM sqlite_master WHERE name = '{table}'") == [(0,)]
    assert hidden_tables(server) == []


def hidden_tables(server):
    return query(server, "SELECT name FROM sqlite_master "
                         "WHERE name LIKE '\\_datasette\\_files\\_import%' ESCAPE '\\'")


def test_an_import_lets_other_writers_in_between_its_batches(server):
    """Rows are written a batch at a time: a write to the same database made
    while an import runs is done while the import is still running."""
    lines = [b"id,name,score"] + [f"{n},name {n},{n % 97}".encode() for n in range(400_000)]
    file = upload_csv(server, "long.csv", b"\n".join(lines) + b"\n")
    with server.client(ALICE) as alice:
        alice.post("/data/-/create", json={"table": "marks", "columns": [
            {"name": "note", "type": "text"}]}).raise_for_status()
        started = alice.post(f"/-/files/import/{file['id']}",
                             json={"database": "data", "table_name": "long"})
        assert started.status_code == 202, started.text
        for _ in range(600):
            job = alice.get(started.json()["json_url"]).json()
            if job["rows_imported"] > 0 or job["state"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        assert job["state"] == "running", job
        inserted = alice.post("/data/marks/-/insert", json={"row": {"note": "meanwhile"}})
        assert inserted.status_code == 201, inserted.text
        during = alice.get(started.json()["json_url"]).json()
        assert during["state"] == "running", during
        for _ in range(1200):
            job = alice.get(started.json()["json_url"]).json()
            if job["state"] != "running":
                break
            time.sleep(0.1)
    assert job["state"] == "done" and job["rows_imported"] == 400_000, job
    assert query(server, "SELECT count(*), sum(score) FROM long") == [
        (400_000, sum(n % 97 for n in range(400_000)))]
    assert query(server, "SELECT note FROM marks") == [("meanwhile",)]
    assert hidden_tables(server) == []


def test_refusals(server):
    file = upload_csv(server, "refuse.csv", b"a\n1\n")
    run(server, file, "existing")
    existing = run(server, file, "existing")
    api.assert_api_error(existing, 409, "already exists")
    api.assert_api_error(run(server, file, "bobs", actor=BOB), 403, "create-table")
    carol = {"id": "carol"}  # may create tables but not insert rows
    api.assert_api_error(run(server, file, "carols", actor=carol), 403, "insert-row")
    with server.client(carol) as client:
        assert "You may not create tables" in client.get(f"/-/files/import/{file['id']}").text
    bad_name = api.assert_api_error(run(server, file, "no such name!"), 400, "table name")
    assert bad_name["field"] == "table_name"
    api.assert_api_error(run(server, file, "x", database="nope"), 400, "'database'")
    with server.client() as anonymous:
        assert anonymous.get(f"/-/files/import/{file['id']}").status_code == 404
    not_csv = upload_csv(server, "photo.png", b"png", "image/png")
    with server.client(ALICE) as alice:
        assert alice.get(f"/-/files/import/{not_csv['id']}").status_code == 404
        for import_id in ("imp-nosuch", "not-an-import", "%C2%84"):
            api.assert_api_error(alice.get(f"/-/files/import/{file['id']}/{import_id}.json"),
                                 404, "No such import")


@pytest.mark.parametrize("body", [
    {"data": {"database": "data", "table_name": "form_json"}},
    # The published datasette-files names the database field database_name.
    {"data": {"database_name": "data", "table_name": "form_json"}},
    {"files": {"database": (None, "data"), "table_name": (None, "form_json")}},
], ids=["urlencoded", "database_name", "multipart"])
def test_a_form_asking_for_json_gets_json(server, body):
    # The body's format follows Content-Type, the answer's follows Accept.
    file = upload_csv(server, "negotiate.csv", b"a\n1\n")
    table = f"t_{file['id'][-8:]}"
    fields = {key: (value if key != "table_name" else
                    (None, table) if isinstance(value, tuple) else table)
              for key, value in next(iter(body.values())).items()}
    with server.client(ALICE) as alice:
        started = alice.post(f"/-/files/import/{file['id']}", **{next(iter(body)): fields},
                             headers={"Accept": "application/json"})
        assert started.status_code == 202, started.text
        assert started.json()["json_url"].endswith(".json")
        assert started.json()["table"] == table


def test_a_form_from_a_browser_goes_to_the_progress_page(server):
    file = upload_csv(server, "browser-form.csv", b"a\n1\n")
    with server.client(ALICE) as alice:
        started = alice.post(f"/-/files/import/{file['id']}",
                             data={"database": "data", "table_name": "browser_form"},
                             headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert started.status_code == 302
        assert started.headers["location"].startswith(f"/-/files/import/{file['id']}/imp-")
        refused = alice.post(f"/-/files/import/{file['id']}",
                             data={"database": "data", "table_name": "no such name!"},
                             headers={"Accept": "text/html"})
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("accept,wants_json", [
    ("application/json, text/html;q=0.1", True),
    ("text/html, application/json;q=0.5", False),
    ("text/html;q=0.5, application/json;q=0.5", True),
    ("application/json;q=0", False),
])
def test_accept_is_weighed_by_its_q_values(server, accept, wants_json):
    file = upload_csv(server, "weighed.csv", b"a\n1\n")
    with server.client(ALICE) as alice:
        refused = alice.post(f"/-/files/import/{file['id']}",
                             data={"database": "data", "table_name": "no such name!"},
                             headers={"Accept": accept})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith(
        "application/json" if wants_json else "text/html"), accept


def test_json_sent_without_an_accept_header_gets_json(server):
    file = upload_csv(server, "script.csv", b"a\n1\n")
    with server.client(ALICE) as alice:
        started = alice.post(f"/-/files/import/{file['id']}",
                             content=b'{"database": "data", "table_name": "script_json"}',
                             headers={"Content-Type": "application/json", "Accept": "*/*"})
        assert started.status_code == 202, started.text
        other = alice.post(f"/-/files/import/{file['id']}", content=b"<xml/>",
                           headers={"Content-Type": "application/xml",
                                    "Accept": "application/json"})
    api.assert_api_error(other, 415, "application/json")


def test_a_job_cut_off_by_a_restart_shows_as_interrupted_and_leaves_no_tables(server):
    file = upload_csv(server, "cut.csv", b"a\n1\n")
    server.stop()
    data = sqlite3.connect(server.data_dir / "data.db")
    data.execute("CREATE TABLE _datasette_files_import_imp_cut (a INTEGER)")
    data.commit()
    data.close()
    conn = sqlite3.connect(server.internal_db)
    conn.execute(
        "INSERT INTO datasette_files_imports (id, file_id, database_name, table_name, "
        "delimiter, has_header, encoding, status, created_at) VALUES "
        "('imp-cut', ?, 'data', 'cut', ',', 1, 'utf-8', 'running', '2026-01-01 00:00:00')",
        [file["id"]])
    conn.commit()
    conn.close()
    server.start()
    with server.client(ALICE) as alice:
        job = alice.get(f"/-/files/import/{file['id']}/imp-cut.json").json()
    assert job["state"] == "interrupted" and "Start it again" in job["error"]
    assert hidden_tables(server) == []
