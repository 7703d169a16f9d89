"""The HTML pages (other than search) and sources.json over a large registry:
p50/p95 per page, as an admin and as a member who may browse one source.

    .venv/bin/python bench/pages_at_scale.py [--files 1000000] [--requests 20]
        [--code DIR]  (e.g. `git archive HEAD plugins/datasette-files | tar -x -C DIR`,
                       then DIR/plugins/datasette-files, to measure before a change)

The registry is seeded once, in bulk, straight into an internal database file
(through its own triggers, so folder counts and the full-text index are real)
kept as a template under bench/.pages/ (seeding 1,000,000 files takes minutes);
each run copies it, starts a real server on loopback (which applies any newer
migration) and times each page from a client. A script, not part of CI.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "plugins" / "datasette-files"))

from datasette_files.registry.files import FOLDER_SORTS  # noqa: E402
from datasette_files.registry.folders import insert_missing_ancestors  # noqa: E402
from datasette_files.registry.schema import apply_migrations  # noqa: E402
from datasette_files.views.params import NUMERIC_SORTS, encode_listing_cursor  # noqa: E402
from search import percentiles, two_sources  # noqa: E402  (bench/search.py, beside this script)
from support.server import DatasetteServer  # noqa: E402

ADMIN = {"id": "a", "roles": ["admin"]}
MEMBER = {"id": "m", "roles": ["member"]}
SORTS = tuple(FOLDER_SORTS)  # date, name, size, type, modified, uploader

EXTENSIONS = [
    ("jpg", "image/jpeg", 30), ("png", "image/png", 10), ("pdf", "application/pdf", 15),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 8),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 3),
    ("zip", "application/zip", 2), ("mp4", "video/mp4", 2), ("mp3", "audio/mpeg", 2),
    ("txt", "text/plain", 10), ("csv", "text/csv", 5), ("md", "text/markdown", 3)]
WEIGHTED = [e for e in EXTENSIONS for _ in range(e[2])]
WORDS = ["report", "invoice", "photo", "scan", "draft", "minutes", "budget", "plan"]
TOPS = ["clients", "projects", "photos", "finance", "hr", "marketing", "legal"]


def _rows(count: int):
    """Two sources (team 70%, archive 30%), folders 0 to 4 deep, mixed types."""
    rnd = random.Random(7)
    start, span = 1704067200, 3 * 365 * 86400  # from 2024-01-01, over three years
    for n in range(count):
        ext, content_type, _ = WEIGHTED[n % len(WEIGHTED)]
        word = WORDS[n % len(WORDS)]
        parts = [TOPS[(n // 7) % len(TOPS)], f"p{(n // 13) % 40}", f"{2024 + (n // 11) % 3}",
                 f"q{(n // 17) % 4 + 1}"][:n % 5]
        folder = "/".join(parts)
        filename = f"{word}{2024 + (n // 3) % 3}-{rnd.choice(['final', 'v2', 'signed'])}-{n}.{ext}"
        created = time.strftime(
            "%Y-%m-%d %H:%M:%S", time.gmtime(start + span * n // count + rnd.randrange(3600)))
        yield (f"df-{n:026d}", "archive" if n % 10 < 3 else "team",
               f"{folder}/{filename}" if folder else filename, filename, content_type,
               int(rnd.lognormvariate(12, 2.5)), f"user{min(19, int(rnd.expovariate(0.25)))}",
               created, f"common {word} rare{n}", folder)


def seed_template(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        apply_migrations(conn)
        conn.executemany(
            "INSERT INTO datasette_files_files (id, source_slug, path, filename, content_type, "
            "size, uploaded_by, created_at, search_text, folder, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sha256:0')", _rows(count))
        insert_missing_ancestors(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.rename(path)


def deep_folder(db: Path, source: str) -> tuple[str, int]:
    """The 4-deep folder of ``source`` with the most files, and that count."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT path, file_count FROM datasette_files_folders WHERE source_slug = ? "
            "AND length(path) - length(replace(path, '/', '')) = 3 "
            "ORDER BY file_count DESC, path LIMIT 1", [source]).fetchone()
    finally:
        conn.close()


def root_files(db: Path, source: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM datasette_files_files "
                            "WHERE source_slug = ? AND folder = ''", [source]).fetchone()[0]
    finally:
        conn.close()


def middle_cursors(db: Path, source: str, root_pages: int) -> dict[str, str]:
    """For each sort (in its default order), the ``next`` cursor that opens the
    middle page of the root of ``source``, as the page's Next link would."""
    conn = sqlite3.connect(db)
    cursors = {}
    try:
        for sort, order in FOLDER_SORTS.items():
            direction = "DESC" if sort in NUMERIC_SORTS else "ASC"
            value, seq = conn.execute(
                f"SELECT {order.value}, seq FROM datasette_files_files "
                f"WHERE source_slug = ? AND folder = '' ORDER BY {order.order_sql} {direction}, "
                f"seq {direction} LIMIT 1 OFFSET ?", [source, (root_pages // 2) * 50 - 1]
            ).fetchone()
            cursors[sort] = encode_listing_cursor(value, seq)
    finally:
        conn.close()
    return cursors


def page_cases(source: str, folder: str, root_pages: int,
               cursors: dict[str, str]) -> list[tuple[str, str, dict, dict]]:
    """(label, path, params, actor) for every page measured, for each actor.
    ``source`` is one both actors may browse; ``folder`` a deep folder in it;
    ``root_pages`` how many pages its root lists; ``cursors`` the Next cursor
    of the middle page for each sort (``middle_cursors``)."""
    listing = f"/-/files/source/{source}"
    cases = []
    for who in (ADMIN, MEMBER):
        cases += [("files index", "/-/files", {}, who),
                  ("home page panel", "/", {}, who),
                  ("sources.json", "/-/files/sources.json", {}, who)]
        for sort in SORTS:
            for order in ("asc", "desc"):
                cases.append((f"root {sort} {order}", listing, {"sort": sort, "order": order}, who))
                cases.append((f"deep folder {sort} {order}", listing,
                              {"sort": sort, "order": order, "folder": folder}, who))
            cases.append((f"root {sort} middle page", listing,
                          {"sort": sort, "page": root_pages // 2}, who))
            cases.append((f"root {sort} last page", listing,
                          {"sort": sort, "page": root_pages}, who))
            cases.append((f"root {sort} middle by Next", listing,
                          {"sort": sort, "page": root_pages // 2 + 1, "next": cursors[sort]},
                          who))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--only", help="run only the cases whose label contains this")
    parser.add_argument("--code", help="serve the plugin from this directory (another "
                        "commit's plugins/datasette-files, for a before/after)")
    args = parser.parse_args()

    template = HERE / ".pages" / f"internal-{args.files}.db"
    if not template.exists():
        started = time.perf_counter()
        seed_template(template, args.files)
        print(f"seeded {args.files:,} files in {time.perf_counter() - started:.0f}s")
    folder, folder_files = deep_folder(template, "team")
    root_pages = -(-root_files(template, "team") // 50)

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        tmp = Path(tmp)
        server = DatasetteServer(tmp, two_sources(tmp),
                                 env={"PYTHONPATH": args.code} if args.code else None)
        server.internal_db.parent.mkdir(parents=True)
        shutil.copy(template, server.internal_db)
        started = time.perf_counter()
        server.start(timeout=600)
        cold_start = time.perf_counter() - started
        results = []
        try:
            clients = {}
            cursors = middle_cursors(template, "team", root_pages)
            for label, path, params, actor in page_cases("team", folder, root_pages, cursors):
                if args.only and args.only not in label:
                    continue
                client = clients.setdefault(actor["id"], server.client(actor))
                client.get(path, params=params)  # warm up
                samples, failures = [], set()
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    response = client.get(path, params=params)
                    samples.append((time.perf_counter() - t0) * 1000)
                    if response.status_code != 200:
                        failures.add(response.status_code)
                results.append((actor["id"], label, *percentiles(samples),
                                " ".join(f"HTTP {status}" for status in sorted(failures))))
            for client in clients.values():
                client.close()
        finally:
            server.stop()

    print(f"Registry: {args.files:,} files; team root {root_pages:,} pages; deep folder "
          f"{folder!r} ({folder_files} files); {args.requests} requests per page, loopback")
    print(f"cold start (copy of the template to first 200): {cold_start:.2f}s")
    print(f"{'actor':<8}{'page':<28}{'p50 ms':>8}{'p95 ms':>8}")
    for who, label, p50, p95, failed in results:
        flag = "  OVER" if p95 > 50 else ""
        print(f"{'admin' if who == 'a' else 'member':<8}{label:<28}{p50:>8.1f}{p95:>8.1f}"
              f"{flag}  {failed}".rstrip())


if __name__ == "__main__":
    main()
