"""Migrations: applied once, in order; a later build upgrades an older registry."""

import sqlite3

import pytest

from datasette_files.registry import schema
from datasette_files.registry.folders import ensure_folders, insert_missing_ancestors


def transaction(conn, fn):
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        return fn(conn)


def test_fresh_database_gets_every_migration_once(tmp_path):
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    assert transaction(conn, schema.apply_migrations) == [n for n, _ in schema.MIGRATIONS]
    assert transaction(conn, schema.apply_migrations) == []


def test_a_newer_build_applies_only_what_is_new_and_keeps_data(tmp_path, monkeypatch):
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    transaction(conn, schema.apply_migrations)
    with conn:
        conn.execute("INSERT INTO datasette_files_files (id, source_slug, path, filename, "
                     "created_at) VALUES ('df-1', 's', 'p', 'kept.txt', '2026-01-01 00:00:00')")
    later = schema.MIGRATIONS + [
        ("999_add_column", "ALTER TABLE datasette_files_files ADD COLUMN future TEXT;")]
    monkeypatch.setattr(schema, "MIGRATIONS", later)
    assert transaction(conn, schema.apply_migrations) == ["999_add_column"]
    assert conn.execute("SELECT filename, future FROM datasette_files_files").fetchall() == [
        ("kept.txt", None)]


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    transaction(conn, schema.apply_migrations)
    broken = schema.MIGRATIONS + [
        ("998_good", "CREATE TABLE t1 (x);"), ("999_bad", "CREATE TABLE t1 (x);")]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        transaction(conn, schema.apply_migrations)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "t1" not in tables
    applied = {r[0] for r in conn.execute("SELECT name FROM datasette_files_migrations")}
    assert "998_good" not in applied


def test_the_placeholder_hash_of_older_builds_becomes_a_failure_to_retry(tmp_path, monkeypatch):
    """Older builds wrote content_hash "unreadable" for a file they could not read:
    it becomes a null hash, one failure, due to be tried again now."""
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    monkeypatch.setattr(schema, "MIGRATIONS", [
        m for m in schema.MIGRATIONS if m[0] < "008"])
    transaction(conn, schema.apply_migrations)
    with conn:
        for file_id, content_hash in [("df-1", "unreadable"), ("df-2", "sha256:ab"),
                                      ("df-3", None)]:
            conn.execute("INSERT INTO datasette_files_files (id, source_slug, path, filename, "
                         "content_hash, created_at) VALUES (?, 's', ?, 'f', ?, '2026-01-01')",
                         [file_id, file_id, content_hash])
    monkeypatch.undo()
    assert transaction(conn, schema.apply_migrations)[0] == "008_hash_retries"
    assert conn.execute("SELECT id, content_hash, hash_failures, hash_retry_at "
                        "FROM datasette_files_files ORDER BY id").fetchall() == [
        ("df-1", None, 1, None), ("df-2", "sha256:ab", 0, None), ("df-3", None, 0, None)]


def wrong_page_counts(conn) -> list:
    """The kept counts that differ from a count made now: (what, kept, real)."""
    wrong = [("source", slug, kept, real) for slug, kept, real in conn.execute(
        "SELECT source_slug, file_count, (SELECT count(*) FROM datasette_files_files f "
        "WHERE f.source_slug = c.source_slug) FROM datasette_files_source_counts c")
        if kept != real]
    wrong += [("folder", slug, path, kept, real) for slug, path, kept, real in conn.execute(
        "SELECT source_slug, path, folder_count, (SELECT count(*) FROM datasette_files_folders c "
        "WHERE c.source_slug = f.source_slug AND c.parent = f.path AND c.path != '') "
        "FROM datasette_files_folders f") if kept != real]
    return wrong


def add_file(conn, source: str, folder: str, name: str) -> None:
    conn.execute("INSERT INTO datasette_files_files (id, source_slug, path, filename, folder, "
                 "created_at) VALUES (?, ?, ?, ?, ?, '2026-01-01')",
                 [f"df-{source}-{folder}-{name}", source, f"{folder}/{name}".lstrip("/"), name,
                  folder])


def test_page_counts_are_filled_in_on_upgrade(tmp_path, monkeypatch):
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if m[0] < "012"])
    transaction(conn, schema.apply_migrations)
    with conn:
        for source, folder, name in [("a", "", "1"), ("a", "x/y", "2"), ("a", "x/y", "3"),
                                     ("a", "x/z", "4"), ("b", "q", "5")]:
            add_file(conn, source, folder, name)
        insert_missing_ancestors(conn)
    monkeypatch.undo()
    assert "012_page_counts" in transaction(conn, schema.apply_migrations)
    assert conn.execute("SELECT * FROM datasette_files_source_counts ORDER BY 1").fetchall() \
        == [("a", 4), ("b", 1)]
    # Source b had no file at its root: its root row is made, to hold its folder count.
    assert conn.execute("SELECT source_slug, path, folder_count FROM datasette_files_folders "
                        "ORDER BY 1, 2").fetchall() == [
        ("a", "", 1), ("a", "x", 2), ("a", "x/y", 0), ("a", "x/z", 0), ("b", "", 1), ("b", "q", 0)]
    assert wrong_page_counts(conn) == []


@pytest.mark.parametrize("children_first", [False, True])
def test_folder_counts_stay_right_whatever_order_a_tree_moves_in(tmp_path, children_first):
    """A folder move renames the rows of a whole tree; SQLite may update them
    in any order."""
    conn = sqlite3.connect(tmp_path / "internal.db", isolation_level="IMMEDIATE")
    transaction(conn, schema.apply_migrations)
    with conn:
        ensure_folders(conn, "s", ["a/b/c", "a/b/d", "a/e", "x"])
        add_file(conn, "s", "a/b", "f")
    assert wrong_page_counts(conn) == []
    moves = [("a/b", "x", "x/b"), ("a/b/c", "x/b", "x/b/c"), ("a/b/d", "x/b", "x/b/d")]
    with conn:
        for old, parent, new in reversed(moves) if children_first else moves:
            conn.execute("UPDATE datasette_files_folders SET path = ?, parent = ? "
                         "WHERE source_slug = 's' AND path = ?", [new, parent, old])
    assert wrong_page_counts(conn) == []
    assert conn.execute("SELECT folder_count FROM datasette_files_folders WHERE path IN "
                        "('', 'a', 'x', 'x/b') ORDER BY path").fetchall() == [(2,), (1,), (1,), (2,)]
    with conn:
        conn.execute("DELETE FROM datasette_files_folders WHERE path LIKE 'x/b%'")
        conn.execute("DELETE FROM datasette_files_files")
    assert wrong_page_counts(conn) == []
