"""Migrations: applied once, in order; a later build upgrades an older registry."""

import sqlite3

import pytest

from datasette_files.registry import schema


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
