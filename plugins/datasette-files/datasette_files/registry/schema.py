"""The registry's schema, as an ordered list of migrations.

Each migration runs once, in order; all pending ones run in one transaction
together with the record of their names, so a data directory written by an older
build opens in a newer one, and a failed upgrade changes nothing.
Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Union

from ..kinds import kind_sql
from .folders import insert_missing_ancestors

MIGRATIONS_TABLE = "datasette_files_migrations"


INITIAL = """
        CREATE TABLE datasette_files_sources (
            slug TEXT PRIMARY KEY,
            storage_type TEXT NOT NULL
        );
        CREATE TABLE datasette_files_files (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            source_slug TEXT NOT NULL,
            path TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_type TEXT,
            content_hash TEXT,
            size INTEGER,
            width INTEGER,
            height INTEGER,
            uploaded_by TEXT,
            created_at TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            search_text TEXT NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX datasette_files_files_source_path
            ON datasette_files_files (source_slug, path);
        CREATE INDEX datasette_files_files_source_seq
            ON datasette_files_files (source_slug, seq);
        CREATE INDEX datasette_files_files_uploaded_by
            ON datasette_files_files (uploaded_by) WHERE uploaded_by IS NOT NULL;

        CREATE VIRTUAL TABLE datasette_files_fts USING fts5(
            filename, content_type, search_text,
            content='datasette_files_files', content_rowid='seq',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3'
        );
        CREATE TRIGGER datasette_files_fts_insert AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text)
            VALUES (new.seq, new.filename, new.content_type, new.search_text);
        END;
        CREATE TRIGGER datasette_files_fts_delete AFTER DELETE ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (datasette_files_fts, rowid, filename, content_type, search_text)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text);
        END;
        CREATE TRIGGER datasette_files_fts_update
        AFTER UPDATE OF filename, content_type, search_text ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (datasette_files_fts, rowid, filename, content_type, search_text)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text);
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text)
            VALUES (new.seq, new.filename, new.content_type, new.search_text);
        END;

        -- One row per upload token: the state of an upload between prepare and
        -- complete. received_bytes lets a chunked upload resume where it stopped.
        CREATE TABLE datasette_files_uploads (
            token TEXT PRIMARY KEY,
            file_id TEXT NOT NULL,
            source_slug TEXT NOT NULL,
            actor_id TEXT,
            path TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            declared_size INTEGER,
            received_bytes INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX datasette_files_uploads_expires
            ON datasette_files_uploads (expires_at);
        """

# Prefix indexes for 2 to 10 characters: a prefix query ("repo" finds "report")
# then reads a ready doclist instead of merging every matching term's doclist,
# which took ~40 ms for a word in every one of 1,000,000 files. Rebuilds the
# index once, on upgrade. (Migrations are history: the triggers are restated.)
FTS_PREFIX_INDEXES = """
        DROP TRIGGER datasette_files_fts_insert;
        DROP TRIGGER datasette_files_fts_delete;
        DROP TRIGGER datasette_files_fts_update;
        DROP TABLE datasette_files_fts;
        CREATE VIRTUAL TABLE datasette_files_fts USING fts5(
            filename, content_type, search_text,
            content='datasette_files_files', content_rowid='seq',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 6 7 8 9 10'
        );
        INSERT INTO datasette_files_fts (datasette_files_fts) VALUES ('rebuild');
        CREATE TRIGGER datasette_files_fts_insert AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text)
            VALUES (new.seq, new.filename, new.content_type, new.search_text);
        END;
        CREATE TRIGGER datasette_files_fts_delete AFTER DELETE ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (datasette_files_fts, rowid, filename, content_type, search_text)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text);
        END;
        CREATE TRIGGER datasette_files_fts_update
        AFTER UPDATE OF filename, content_type, search_text ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (datasette_files_fts, rowid, filename, content_type, search_text)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text);
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text)
            VALUES (new.seq, new.filename, new.content_type, new.search_text);
        END;
"""

# Generated thumbnails and recorded failures, per file, size and generator.
THUMBNAILS = """
        CREATE TABLE datasette_files_thumbnails (
            file_id TEXT NOT NULL,
            size INTEGER NOT NULL,
            generator TEXT NOT NULL,
            content_type TEXT,
            thumb BLOB,
            width INTEGER,
            height INTEGER,
            error TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (file_id, size, generator)
        );
        CREATE TRIGGER datasette_files_thumbnails_cleanup
        AFTER DELETE ON datasette_files_files BEGIN
            DELETE FROM datasette_files_thumbnails WHERE file_id = old.id;
        END;
"""

# A source's listing sorts by name, size or type as cheaply as by date.
LISTING_INDEXES = """
        CREATE INDEX datasette_files_files_source_filename
            ON datasette_files_files (source_slug, filename COLLATE NOCASE, seq);
        CREATE INDEX datasette_files_files_source_size
            ON datasette_files_files (source_slug, size, seq);
        CREATE INDEX datasette_files_files_source_type
            ON datasette_files_files (source_slug, content_type, seq);
"""

# CSV import jobs: their progress survives the page, and a restart marks any
# job it cut off as interrupted.
IMPORTS = """
        CREATE TABLE datasette_files_imports (
            id TEXT PRIMARY KEY,
            file_id TEXT NOT NULL,
            actor_id TEXT,
            database_name TEXT NOT NULL,
            table_name TEXT NOT NULL,
            delimiter TEXT NOT NULL,
            has_header INTEGER NOT NULL,
            encoding TEXT NOT NULL,
            status TEXT NOT NULL,
            rows_imported INTEGER NOT NULL DEFAULT 0,
            bytes_read INTEGER NOT NULL DEFAULT 0,
            total_bytes INTEGER,
            ragged_rows INTEGER NOT NULL DEFAULT 0,
            message TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE INDEX datasette_files_imports_status ON datasette_files_imports (status);
"""

# Files found in a source's folders by sync: their folder (searchable), the
# modification time that tells a changed file, and a queue of unhashed files.
FOLDERS = """
        ALTER TABLE datasette_files_files ADD COLUMN folder TEXT NOT NULL DEFAULT '';
        ALTER TABLE datasette_files_files ADD COLUMN mtime_ns INTEGER;
        CREATE INDEX datasette_files_files_source_folder
            ON datasette_files_files (source_slug, folder);
        CREATE INDEX datasette_files_files_unhashed
            ON datasette_files_files (seq) WHERE content_hash IS NULL;
        DROP TRIGGER datasette_files_fts_insert;
        DROP TRIGGER datasette_files_fts_delete;
        DROP TRIGGER datasette_files_fts_update;
        DROP TABLE datasette_files_fts;
        CREATE VIRTUAL TABLE datasette_files_fts USING fts5(
            filename, content_type, search_text, folder,
            content='datasette_files_files', content_rowid='seq',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 6 7 8 9 10'
        );
        INSERT INTO datasette_files_fts (datasette_files_fts) VALUES ('rebuild');
        CREATE TRIGGER datasette_files_fts_insert AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text, folder)
            VALUES (new.seq, new.filename, new.content_type, new.search_text, new.folder);
        END;
        CREATE TRIGGER datasette_files_fts_delete AFTER DELETE ON datasette_files_files BEGIN
            INSERT INTO datasette_files_fts
                (datasette_files_fts, rowid, filename, content_type, search_text, folder)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text, old.folder);
        END;
        CREATE TRIGGER datasette_files_fts_update
        AFTER UPDATE OF filename, content_type, search_text, folder ON datasette_files_files
        BEGIN
            INSERT INTO datasette_files_fts
                (datasette_files_fts, rowid, filename, content_type, search_text, folder)
            VALUES ('delete', old.seq, old.filename, old.content_type, old.search_text, old.folder);
            INSERT INTO datasette_files_fts (rowid, filename, content_type, search_text, folder)
            VALUES (new.seq, new.filename, new.content_type, new.search_text, new.folder);
        END;
"""

# Each thumbnail records what it was made from: the file's bytes (by hash) and
# the generator's version. Thumbnails made before are made again on request.
THUMBNAIL_VERSIONS = """
        ALTER TABLE datasette_files_thumbnails ADD COLUMN content_hash TEXT;
        ALTER TABLE datasette_files_thumbnails ADD COLUMN generator_version TEXT;
        DELETE FROM datasette_files_thumbnails;
"""

# Hashing a file that cannot be read is tried again later, backing off: how often
# it failed, and when to try next (unix seconds; NULL: now). The placeholder
# hash "unreadable" of older builds becomes a failure, tried again at start.
HASH_RETRIES = """
        ALTER TABLE datasette_files_files ADD COLUMN hash_failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE datasette_files_files ADD COLUMN hash_retry_at INTEGER;
        UPDATE datasette_files_files SET content_hash = NULL, hash_failures = 1
            WHERE content_hash = 'unreadable';
        DELETE FROM datasette_files_thumbnails WHERE content_hash = 'unreadable';
"""

# Folders as things of their own (an empty folder exists), each with the count
# of files directly in it, kept by triggers; the trash (items, and the rows of
# the files they hold, out of the files table so nothing else sees them); and
# the journal of storage changes in flight (moves, copies), so a crash at any
# point is undone or finished at the next start.
FOLDERS_AND_TRASH = """
        CREATE TABLE datasette_files_folders (
            source_slug TEXT NOT NULL,
            path TEXT NOT NULL,
            parent TEXT NOT NULL,
            name TEXT NOT NULL,
            file_count INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            created_by TEXT,
            PRIMARY KEY (source_slug, path)
        );
        CREATE INDEX datasette_files_folders_parent
            ON datasette_files_folders (source_slug, parent, name COLLATE NOCASE);
        INSERT INTO datasette_files_folders (source_slug, path, parent, name, file_count, created_at)
            SELECT source_slug, folder,
                   rtrim(rtrim(folder, replace(folder, '/', '')), '/'),
                   substr(folder, length(rtrim(folder, replace(folder, '/', ''))) + 1),
                   count(*), min(created_at)
            FROM datasette_files_files GROUP BY source_slug, folder;
        CREATE TRIGGER datasette_files_folders_count_insert
        AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_folders
                (source_slug, path, parent, name, file_count, created_at)
            VALUES (new.source_slug, new.folder,
                    rtrim(rtrim(new.folder, replace(new.folder, '/', '')), '/'),
                    substr(new.folder, length(rtrim(new.folder, replace(new.folder, '/', ''))) + 1),
                    1, new.created_at)
            ON CONFLICT (source_slug, path) DO UPDATE SET file_count = file_count + 1;
        END;
        CREATE TRIGGER datasette_files_folders_count_delete
        AFTER DELETE ON datasette_files_files BEGIN
            UPDATE datasette_files_folders SET file_count = file_count - 1
            WHERE source_slug = old.source_slug AND path = old.folder;
        END;
        CREATE TRIGGER datasette_files_folders_count_update
        AFTER UPDATE OF source_slug, folder ON datasette_files_files
        WHEN old.source_slug IS NOT new.source_slug OR old.folder IS NOT new.folder BEGIN
            UPDATE datasette_files_folders SET file_count = file_count - 1
            WHERE source_slug = old.source_slug AND path = old.folder;
            INSERT INTO datasette_files_folders
                (source_slug, path, parent, name, file_count, created_at)
            VALUES (new.source_slug, new.folder,
                    rtrim(rtrim(new.folder, replace(new.folder, '/', '')), '/'),
                    substr(new.folder, length(rtrim(new.folder, replace(new.folder, '/', ''))) + 1),
                    1, new.created_at)
            ON CONFLICT (source_slug, path) DO UPDATE SET file_count = file_count + 1;
        END;

        CREATE TABLE datasette_files_trash_items (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            source_slug TEXT NOT NULL,
            name TEXT NOT NULL,
            folder TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            subfolders TEXT NOT NULL DEFAULT '[]',
            files INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,
            trashed_at TEXT NOT NULL,
            trashed_by TEXT
        );
        CREATE INDEX datasette_files_trash_items_source
            ON datasette_files_trash_items (source_slug, trashed_at);
        CREATE INDEX datasette_files_trash_items_trashed_at
            ON datasette_files_trash_items (trashed_at);
        CREATE TABLE datasette_files_trash (
            item_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL UNIQUE,
            source_slug TEXT NOT NULL,
            path TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_type TEXT,
            content_hash TEXT,
            size INTEGER,
            width INTEGER,
            height INTEGER,
            uploaded_by TEXT,
            created_at TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            search_text TEXT NOT NULL DEFAULT '',
            folder TEXT NOT NULL DEFAULT '',
            mtime_ns INTEGER,
            hash_failures INTEGER NOT NULL DEFAULT 0,
            hash_retry_at INTEGER
        );
        CREATE INDEX datasette_files_trash_item ON datasette_files_trash (item_id);
        CREATE INDEX datasette_files_trash_source_path ON datasette_files_trash (source_slug, path);
        CREATE INDEX datasette_files_trash_uploaded_by
            ON datasette_files_trash (uploaded_by) WHERE uploaded_by IS NOT NULL;

        CREATE INDEX datasette_files_files_folder_name
            ON datasette_files_files (source_slug, folder, filename COLLATE NOCASE);
        ALTER TABLE datasette_files_uploads ADD COLUMN folder TEXT NOT NULL DEFAULT '';
        ALTER TABLE datasette_files_uploads ADD COLUMN on_conflict TEXT NOT NULL DEFAULT 'rename';

        CREATE TABLE datasette_files_journal (
            id INTEGER PRIMARY KEY,
            state TEXT NOT NULL,
            steps TEXT NOT NULL,
            cleanup TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        );
"""

# Search at scale: a trigram index of file names (substrings of 3 or more
# characters: "udge" finds "budget.xlsx"), and the indexes search walks in the
# order of each sort, or drives from for each filter (the kind column they use
# is added by ensure_kind_column). Each ends in seq: keyset cursors seek them.
SEARCH_INDEXES = """
        CREATE VIRTUAL TABLE datasette_files_names USING fts5(
            filename, content='datasette_files_files', content_rowid='seq', tokenize='trigram'
        );
        INSERT INTO datasette_files_names (datasette_files_names) VALUES ('rebuild');
        CREATE TRIGGER datasette_files_names_insert AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_names (rowid, filename) VALUES (new.seq, new.filename);
        END;
        CREATE TRIGGER datasette_files_names_delete AFTER DELETE ON datasette_files_files BEGIN
            INSERT INTO datasette_files_names (datasette_files_names, rowid, filename)
            VALUES ('delete', old.seq, old.filename);
        END;
        CREATE TRIGGER datasette_files_names_update
        AFTER UPDATE OF filename ON datasette_files_files BEGIN
            INSERT INTO datasette_files_names (datasette_files_names, rowid, filename)
            VALUES ('delete', old.seq, old.filename);
            INSERT INTO datasette_files_names (rowid, filename) VALUES (new.seq, new.filename);
        END;
        CREATE INDEX datasette_files_files_created ON datasette_files_files (created_at, seq);
        CREATE INDEX datasette_files_files_source_created
            ON datasette_files_files (source_slug, created_at, seq);
        CREATE INDEX datasette_files_files_name
            ON datasette_files_files (filename COLLATE NOCASE, seq);
        CREATE INDEX datasette_files_files_size ON datasette_files_files (size, seq);
"""

# The kind column's indexes (ensure_kind_column drops and remakes them).
KIND_INDEXES = (
    "CREATE INDEX datasette_files_files_kind ON datasette_files_files (kind, seq)",
    "CREATE INDEX datasette_files_files_source_kind "
    "ON datasette_files_files (source_slug, kind, seq)",
)

# A folder's count of the folders directly in it, counted afresh (a trigger
# adds the rows it is for); and the root's row, made when it first holds one.
_RECOUNT_FOLDERS = """UPDATE datasette_files_folders SET folder_count = (
                SELECT count(*) FROM datasette_files_folders AS c
                WHERE c.source_slug = datasette_files_folders.source_slug
                  AND c.parent = datasette_files_folders.path AND c.path != '')"""
_ROOT_ROW = """INSERT INTO datasette_files_folders (source_slug, path, parent, name, created_at)
            SELECT new.source_slug, '', '', '', new.created_at WHERE new.parent = ''
            ON CONFLICT (source_slug, path) DO NOTHING"""

# Counts the pages show, kept up to date rather than counted on each request
# (a count of 700,000 files took ~50 ms): the files of each source, and the
# folders directly in each folder (the root's too: its row is made when it
# first holds a folder). A new folder adds one to its parent and counts its
# own (children may come first); one gone takes one off. A move recounts from
# the parent index, so a move that renames a whole tree in one statement, in
# any row order, ends with every count right. (Recounting the parent on every
# insert made 20,000 new subfolders of one folder take 29 s.) Indexes
# list the files directly in a folder by size or type in order, without a sort.
PAGE_COUNTS = f"""
        CREATE TABLE datasette_files_source_counts (
            source_slug TEXT PRIMARY KEY,
            file_count INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO datasette_files_source_counts (source_slug, file_count)
            SELECT source_slug, count(*) FROM datasette_files_files GROUP BY source_slug;
        CREATE TRIGGER datasette_files_source_count_insert
        AFTER INSERT ON datasette_files_files BEGIN
            INSERT INTO datasette_files_source_counts (source_slug, file_count)
            VALUES (new.source_slug, 1)
            ON CONFLICT (source_slug) DO UPDATE SET file_count = file_count + 1;
        END;
        CREATE TRIGGER datasette_files_source_count_delete
        AFTER DELETE ON datasette_files_files BEGIN
            UPDATE datasette_files_source_counts SET file_count = file_count - 1
            WHERE source_slug = old.source_slug;
        END;
        CREATE TRIGGER datasette_files_source_count_update
        AFTER UPDATE OF source_slug ON datasette_files_files
        WHEN old.source_slug IS NOT new.source_slug BEGIN
            UPDATE datasette_files_source_counts SET file_count = file_count - 1
            WHERE source_slug = old.source_slug;
            INSERT INTO datasette_files_source_counts (source_slug, file_count)
            VALUES (new.source_slug, 1)
            ON CONFLICT (source_slug) DO UPDATE SET file_count = file_count + 1;
        END;

        ALTER TABLE datasette_files_folders ADD COLUMN folder_count INTEGER NOT NULL DEFAULT 0;
        INSERT INTO datasette_files_folders (source_slug, path, parent, name, created_at)
            SELECT source_slug, '', '', '', min(created_at) FROM datasette_files_folders
            WHERE parent = '' AND path != '' GROUP BY source_slug
            ON CONFLICT (source_slug, path) DO NOTHING;
        {_RECOUNT_FOLDERS};
        CREATE TRIGGER datasette_files_folder_count_insert
        AFTER INSERT ON datasette_files_folders WHEN new.path != '' BEGIN
            {_ROOT_ROW};
            UPDATE datasette_files_folders SET folder_count = folder_count + 1
            WHERE source_slug = new.source_slug AND path = new.parent;
            {_RECOUNT_FOLDERS}
            WHERE source_slug = new.source_slug AND path = new.path;
        END;
        CREATE TRIGGER datasette_files_folder_count_delete
        AFTER DELETE ON datasette_files_folders WHEN old.path != '' BEGIN
            UPDATE datasette_files_folders SET folder_count = folder_count - 1
            WHERE source_slug = old.source_slug AND path = old.parent;
        END;
        CREATE TRIGGER datasette_files_folder_count_update
        AFTER UPDATE OF source_slug, path, parent ON datasette_files_folders
        WHEN new.path != '' BEGIN
            {_ROOT_ROW};
            {_RECOUNT_FOLDERS}
            WHERE (source_slug = old.source_slug AND path = old.parent)
               OR (source_slug = new.source_slug AND path IN (new.parent, new.path));
        END;

        CREATE INDEX datasette_files_files_folder_size
            ON datasette_files_files (source_slug, folder, size);
        CREATE INDEX datasette_files_files_folder_type
            ON datasette_files_files (source_slug, folder, content_type);
"""

# The PDF viewer's cache (registry/pdf_pages.py), keyed by the bytes, not the file.
PDF_PAGES = """
        CREATE TABLE datasette_files_pdf_outlines (
            content_hash TEXT NOT NULL,
            renderer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            page_count INTEGER,
            page_sizes TEXT,
            error TEXT,
            PRIMARY KEY (content_hash, renderer)
        );
        CREATE INDEX datasette_files_pdf_outlines_created
            ON datasette_files_pdf_outlines (created_at);
        CREATE TABLE datasette_files_pdf_pages (
            content_hash TEXT NOT NULL,
            renderer TEXT NOT NULL,
            page INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            content_type TEXT,
            width INTEGER,
            height INTEGER,
            error TEXT,
            bytes INTEGER NOT NULL DEFAULT 0,
            image BLOB,
            PRIMARY KEY (content_hash, renderer, page)
        );
        -- Covers the eviction's running total: the images are never read for it.
        CREATE INDEX datasette_files_pdf_pages_created
            ON datasette_files_pdf_pages (created_at, bytes);
"""

# The list view: its columns "modified" and "uploader" sort a folder's files
# through an index each, as the other listing sorts do (ties in seq order, the
# rowid every index ends in); and each actor's choices of the pages (Grid or
# List), so they follow the actor to another browser. (The modified index
# is on files.MODIFIED_NS_SQL as written there: the planner matches its text.)
LIST_VIEW = """
        CREATE INDEX datasette_files_files_folder_modified
            ON datasette_files_files
            (source_slug, folder, coalesce(mtime_ns, unixepoch(created_at) * 1000000000));
        CREATE INDEX datasette_files_files_folder_uploader
            ON datasette_files_files (source_slug, folder, uploaded_by);
        CREATE TABLE datasette_files_preferences (
            actor_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (actor_id, name)
        );
"""

# Live listings: a version per folder of each source (the root is folder ''),
# counted up by triggers whenever a file or folder directly in it comes, goes,
# or changes what its listing shows. A page polls its folder's version (one
# primary-key lookup) to learn that its listing is stale; no write path has
# to remember to bump it. Rows are never deleted: a folder made again goes on
# counting from where it was. (Counts and thumbnails: LISTING_VERSIONS_OF_COUNTS.)
_BUMP = """INSERT INTO datasette_files_listing_versions (source_slug, folder, version)
            SELECT {slug}, {folder}, 1 WHERE {when}
            ON CONFLICT (source_slug, folder) DO UPDATE SET version = version + 1"""
LISTING_VERSIONS = f"""
        CREATE TABLE datasette_files_listing_versions (
            source_slug TEXT NOT NULL,
            folder TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (source_slug, folder)
        ) WITHOUT ROWID;
        CREATE TRIGGER datasette_files_listing_version_file_insert
        AFTER INSERT ON datasette_files_files BEGIN
            {_BUMP.format(slug="new.source_slug", folder="new.folder", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_file_delete
        AFTER DELETE ON datasette_files_files BEGIN
            {_BUMP.format(slug="old.source_slug", folder="old.folder", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_file_update
        AFTER UPDATE OF source_slug, folder, filename, path, size, content_type, mtime_ns,
            uploaded_by ON datasette_files_files BEGIN
            {_BUMP.format(slug="old.source_slug", folder="old.folder", when="1")};
            {_BUMP.format(slug="new.source_slug", folder="new.folder",
                         when="new.source_slug IS NOT old.source_slug OR new.folder IS NOT old.folder")};
        END;
        CREATE TRIGGER datasette_files_listing_version_folder_insert
        AFTER INSERT ON datasette_files_folders WHEN new.path != '' BEGIN
            {_BUMP.format(slug="new.source_slug", folder="new.parent", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_folder_delete
        AFTER DELETE ON datasette_files_folders WHEN old.path != '' BEGIN
            {_BUMP.format(slug="old.source_slug", folder="old.parent", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_folder_update
        AFTER UPDATE OF source_slug, path, parent, name
        ON datasette_files_folders WHEN new.path != '' BEGIN
            {_BUMP.format(slug="old.source_slug", folder="old.parent", when="1")};
            {_BUMP.format(slug="new.source_slug", folder="new.parent",
                         when="new.source_slug IS NOT old.source_slug OR new.parent IS NOT old.parent")};
        END;
"""

# What else a listing shows that changes without a file or folder coming or
# going directly in it, counted in its version too so an open page catches up
# at its next poll: a subfolder's counts on its card (one more upsert, by primary
# key, when a file comes or goes: a page must not wait for the next change of
# its own), the source's total on the root's page, and a thumbnail made after the
# listing showed the file's icon.
LISTING_VERSIONS_OF_COUNTS = f"""
        CREATE TRIGGER datasette_files_listing_version_folder_counts
        AFTER UPDATE OF file_count, folder_count ON datasette_files_folders
        WHEN new.path != '' AND (new.file_count IS NOT old.file_count
                                 OR new.folder_count IS NOT old.folder_count) BEGIN
            {_BUMP.format(slug="new.source_slug", folder="new.parent", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_source_total_insert
        AFTER INSERT ON datasette_files_source_counts BEGIN
            {_BUMP.format(slug="new.source_slug", folder="''", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_source_total_update
        AFTER UPDATE OF file_count ON datasette_files_source_counts
        WHEN new.file_count IS NOT old.file_count BEGIN
            {_BUMP.format(slug="new.source_slug", folder="''", when="1")};
        END;
        CREATE TRIGGER datasette_files_listing_version_thumbnail_made
        AFTER INSERT ON datasette_files_thumbnails WHEN new.thumb IS NOT NULL BEGIN
            INSERT INTO datasette_files_listing_versions (source_slug, folder, version)
            SELECT source_slug, folder, 1 FROM datasette_files_files WHERE id = new.file_id
            ON CONFLICT (source_slug, folder) DO UPDATE SET version = version + 1;
        END;
"""

# Uploads whose bytes go straight to the storage (DirectUploads): how they
# travel, the storage's multipart upload id, its part size, and the path the
# object was presigned for (the upload's path follows a moved folder; the
# object does not).
DIRECT_UPLOADS = """
        ALTER TABLE datasette_files_uploads ADD COLUMN transfer TEXT NOT NULL DEFAULT 'server';
        ALTER TABLE datasette_files_uploads ADD COLUMN multipart_id TEXT;
        ALTER TABLE datasette_files_uploads ADD COLUMN part_size INTEGER;
        ALTER TABLE datasette_files_uploads ADD COLUMN object_path TEXT;
"""

# A migration is SQL statements, or a function of the connection for data changes.
Migration = Union[str, Callable[[sqlite3.Connection], None]]

MIGRATIONS: list[tuple[str, Migration]] = [
    ("001_initial", INITIAL),
    ("002_fts_prefix_indexes", FTS_PREFIX_INDEXES),
    ("003_thumbnails", THUMBNAILS),
    ("004_listing_indexes", LISTING_INDEXES),
    ("005_imports", IMPORTS),
    ("006_folders", FOLDERS),
    ("007_thumbnail_versions", THUMBNAIL_VERSIONS),
    ("008_hash_retries", HASH_RETRIES),
    ("009_folders_and_trash", FOLDERS_AND_TRASH),
    ("010_folder_ancestors", insert_missing_ancestors),
    ("011_search_indexes", SEARCH_INDEXES),
    ("012_page_counts", PAGE_COUNTS),
    ("013_pdf_pages", PDF_PAGES),
    ("014_list_view", LIST_VIEW),
    ("015_listing_versions", LISTING_VERSIONS),
    ("016_listing_versions_of_counts", LISTING_VERSIONS_OF_COUNTS),
    ("017_direct_uploads", DIRECT_UPLOADS),
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied.

    The caller runs this inside a transaction.
    """
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
        "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    done = {row[0] for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        if callable(migration):
            migration(conn)
        else:
            # executescript() would commit; run statement by statement instead.
            for statement in _split_statements(migration):
                conn.execute(statement)
        conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (?)", [name])
        applied.append(name)
    ensure_kind_column(conn)
    return applied


def ensure_kind_column(conn: sqlite3.Connection) -> None:
    """Give the files table a ``kind`` column generated by today's ``kind_sql``.

    Derived, not history: when the rules in ``kinds`` change, the column and
    its indexes are made again (a virtual column stores nothing; its indexes
    are rebuilt), so no migration has to restate the rules.
    """
    expression = kind_sql()
    table_sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                             "AND name = 'datasette_files_files'").fetchone()[0]
    if f"GENERATED ALWAYS AS ({expression}) VIRTUAL" in table_sql:
        return
    columns = {row[1] for row in conn.execute("PRAGMA table_xinfo(datasette_files_files)")}
    if "kind" in columns:
        conn.execute("DROP INDEX IF EXISTS datasette_files_files_kind")
        conn.execute("DROP INDEX IF EXISTS datasette_files_files_source_kind")
        conn.execute("ALTER TABLE datasette_files_files DROP COLUMN kind")
    conn.execute("ALTER TABLE datasette_files_files ADD COLUMN kind TEXT "
                 f"GENERATED ALWAYS AS ({expression}) VIRTUAL")
    for statement in KIND_INDEXES:
        conn.execute(statement)


def _split_statements(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
