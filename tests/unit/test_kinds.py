"""Kinds of file: the SQL the registry filters by says what the Python says."""

import sqlite3

import pytest

from datasette_files.kinds import KINDS, kind_of, kind_sql
from datasette_files.registry.schema import apply_migrations, ensure_kind_column

SAMPLES = [
    ("image/jpeg", "a.jpg", "image"), ("IMAGE/PNG", "x", "image"),
    ("application/octet-stream", "x.DOCX", "document"), ("text/csv", "a.csv", "spreadsheet"),
    ("text/plain", "a", "text"), (None, None, "other"), ("", "noext", "other"),
    ("application/pdf", "a.txt", "pdf"), ("text/markdown", "r.md", "text"),
    ("application/octet-stream", "a.tar.gz", "archive"), ("application/json", "x", "text"),
    ("weird", "a.b.c.pptx", "presentation"), ("", ".hidden", "other"),
    ("video/mp4", "a.mp3", "video"), ("application/octet-stream", "song.FLAC", "audio"),
    ("text/html", "page.html", "text"), ("application/zip", "a.docx", "archive"),
]
# Every rule of the table, as a (content type, name) pair it decides.
SAMPLES += [(t, "x", k.name) for k in KINDS for t in k.content_types]
SAMPLES += [("application/octet-stream", f"x.{e}", k.name) for k in KINDS for e in k.extensions]
SAMPLES += [(f"{k.major_type}/anything", "x", k.name) for k in KINDS if k.major_type]


def test_sql_and_python_agree_on_every_rule():
    conn = sqlite3.connect(":memory:")
    rows = conn.execute(
        "SELECT " + kind_sql("column1", "column2") + " FROM (VALUES "
        + ", ".join("(?, ?)" for _ in SAMPLES) + ")",
        [value for content_type, name, _ in SAMPLES for value in (content_type, name)])
    for (content_type, name, kind), (from_sql,) in zip(SAMPLES, rows):
        assert kind_of(content_type, name) == kind == from_sql, (content_type, name)


def test_a_changed_rule_remakes_the_column_and_its_indexes(tmp_path, monkeypatch):
    conn = sqlite3.connect(tmp_path / "internal.db")
    with conn:
        apply_migrations(conn)
        conn.execute("INSERT INTO datasette_files_files (id, source_slug, path, filename, "
                     "content_type, created_at) VALUES ('df-1', 's', 'a.xyz', 'a.xyz', "
                     "'application/octet-stream', '2026-01-01 00:00:00')")
    assert conn.execute("SELECT kind FROM datasette_files_files").fetchone() == ("other",)
    monkeypatch.setattr("datasette_files.registry.schema.kind_sql",
                        lambda: "CASE WHEN filename LIKE '%.xyz' THEN 'text' ELSE 'other' END")
    with conn:
        ensure_kind_column(conn)
    assert conn.execute("SELECT kind FROM datasette_files_files INDEXED BY "
                        "datasette_files_files_kind WHERE kind = 'text'").fetchall() == [("text",)]


@pytest.mark.parametrize("name", ["", "x", "x.", ".x", "a.b.", "a..b"])
def test_odd_names_agree_too(name):
    conn = sqlite3.connect(":memory:")
    (from_sql,) = conn.execute(f"SELECT {kind_sql(repr(''), '?1')}", [name]).fetchone()
    assert from_sql == kind_of("", name)
