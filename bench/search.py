"""search.json and the listing pages over a large registry: p50/p95 for a matrix.

    .venv/bin/python bench/search.py [--files 1000000] [--requests 20] [--only TEXT]

A registry of a realistic shape is seeded straight into the internal database
(through its own triggers, so the full-text and trigram indexes are real):
two sources ("team" 70%, "archive" 30%), folders up to 4 deep, twelve kinds of
file, twenty uploaders, three years of dates, log-normal sizes. The seeded
database is kept in bench/.cache and reused while the schema is unchanged.

Each base query (no q, a rare term, a common term in every file, two words, a
prefix, a substring) runs alone, with source, with folder, with each filter,
with each sort, and on a deep page (the cursor after 5,000 results), as an
admin and as a member who may browse only "team"; then the named combinations
and the HTML pages. Each case is timed from a client over loopback; any p95
over 50 ms is marked.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.server import DatasetteServer, source_config  # noqa: E402

TARGET_MS = 50
CACHE = Path(__file__).resolve().parent / ".cache"
WORDS = ["report", "invoice", "photo", "scan", "draft", "minutes", "budget", "plan"]
TOPS = ["clients", "projects", "photos", "finance", "hr", "marketing", "legal"]
EXTENSIONS = [  # (extension, content type, weight)
    ("jpg", "image/jpeg", 30), ("png", "image/png", 10), ("pdf", "application/pdf", 15),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 8),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 3),
    ("zip", "application/zip", 2), ("mp4", "video/mp4", 2), ("mp3", "audio/mpeg", 2),
    ("txt", "text/plain", 10), ("csv", "text/csv", 5), ("md", "text/markdown", 3),
]
DEEP_FOLDER = "projects/p7/2025/q3"


def seed_rows(count: int):
    rnd = random.Random(7)
    table = [e for e in EXTENSIONS for _ in range(e[2])]
    start, span = 1704067200, 3 * 365 * 86400  # 2024-01-01, three years
    for n in range(count):
        extension, content_type, _ = table[n % len(table)]
        word = WORDS[n % len(WORDS)]
        parts = [TOPS[(n // 7) % len(TOPS)], f"p{(n // 13) % 40}", f"{2024 + (n // 11) % 3}",
                 f"q{(n // 17) % 4 + 1}"][:n % 5]
        folder = "/".join(parts)
        # "report2024-final-17.pdf": a word, a year and a tag in each name.
        filename = (f"{word}{2024 + (n // 3) % 3}-"
                    f"{rnd.choice(['final', 'v2', 'draft', 'signed', 'old'])}-{n}.{extension}")
        created = time.strftime("%Y-%m-%d %H:%M:%S",
                                time.gmtime(start + span * n // count + rnd.randrange(3600)))
        yield (f"df-{n:026d}", "archive" if n % 10 < 3 else "team",
               f"{folder}/{filename}" if folder else filename, filename, content_type,
               int(rnd.lognormvariate(12, 2.5)), f"user{min(19, int(rnd.expovariate(0.25)))}",
               # "common" is in every file, "rare{n}" in one.
               created, f"common {word} rare{n}", folder)


def seed(db_path: Path, count: int) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.executemany(
            "INSERT INTO datasette_files_files (id, source_slug, path, filename, content_type, "
            "size, uploaded_by, created_at, search_text, folder, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sha256:0')", seed_rows(count))
    conn.close()


def schema_key(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    names = [row[0] for row in conn.execute("SELECT name FROM datasette_files_migrations")]
    conn.close()
    return str(len(names)) + "-" + names[-1]


def two_sources(data: Path) -> dict:
    """The benchmarks' config: "team" (members and admins may browse it) and
    "archive" (admins only), under ``data``."""
    return {
        "permissions": {"files-browse": {
            "team": {"allow": {"roles": ["member", "admin"]}},
            "archive": {"allow": {"roles": "admin"}}}},
        "plugins": {"datasette-files": {"sources": {
            "team": source_config(data / "team"), "archive": source_config(data / "archive")}}},
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def json_cases(files: int) -> list[tuple[str, dict]]:
    bases = {
        "no q": {},
        "rare term": {"q": f"rare{files // 3}"},
        "common term": {"q": "common"},
        "two words": {"q": "common budget"},
        "prefix": {"q": "bud"},
        "substring": {"q": "udge"},
    }
    variants = {
        "alone": {},
        "source": {"source": "team"},
        "folder": {"source": "team", "folder": "projects"},
        "deep folder": {"source": "team", "folder": DEEP_FOLDER},
        "kind": {"kind": "presentation"},
        "uploader": {"uploader": "user7"},
        "dates": {"since": "2025-03-01", "until": "2025-03-31"},
        "sizes": {"min_size": "1MB", "max_size": "5MB"},
        **{f"sort {s}": {"sort": s} for s in ("relevance", "newest", "oldest", "name", "size")},
    }
    cases = []
    for base, base_params in bases.items():
        for variant, params in variants.items():
            cases.append((f"{base} / {variant}", {**base_params, **params}))
    for q in ({}, {"q": "bud"}):
        cases.append((f"combo {'q ' if q else ''}source+folder+kind+sort name",
                      {**q, "source": "team", "folder": "projects", "kind": "pdf",
                       "sort": "name"}))
    return cases


def page_cases() -> list[tuple[str, str, dict]]:
    return [
        ("page: source root", "/-/files/source/team", {}),
        ("page: source deep folder", "/-/files/source/team", {"folder": DEEP_FOLDER}),
        ("page: source root by name", "/-/files/source/team", {"sort": "name"}),
        ("page: files index", "/-/files", {}),
        ("page: search", "/-/files/search", {"q": "bud"}),
        ("page: search with source", "/-/files/search", {"q": "bud", "source": "team"}),
        ("page: search no q, source", "/-/files/search", {"source": "archive"}),
    ]


def timed(client, path: str, params: dict, requests: int, server) -> tuple[list[float], dict]:
    response = client.get(path, params=params)  # warm up
    samples = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            # Recorded as a failure of the case (the matrix goes on).
            return [float("inf")], {"total_display": f"HTTP {response.status_code}"}
    return samples, (response.json() if path.endswith(".json") else {})


def deep_cursor(client, params: dict) -> str | None:
    """The cursor after 5,000 results (or as deep as the results go)."""
    args = {**params, "limit": 500}
    cursor = None
    for _ in range(10):
        response = client.get("/-/files/search.json", params=args)
        if response.status_code != 200:
            break
        body = response.json()
        if not body.get("next"):
            break
        cursor = args["next"] = body["next"]
    return cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--only", default="", help="run only cases whose label has this text")
    parser.add_argument("--no-deep", action="store_true", help="skip the deep-page cases")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        tmp = Path(tmp)
        server = DatasetteServer(tmp, two_sources(tmp))
        server.start()
        server.stop()
        cached = CACHE / f"search-{args.files}-{schema_key(server.internal_db)}.db"
        started = time.perf_counter()
        if cached.exists():
            shutil.copyfile(cached, server.internal_db)
            how = "copied from the cache"
        else:
            seed(server.internal_db, args.files)
            CACHE.mkdir(exist_ok=True)
            shutil.copyfile(server.internal_db, cached)
            how = "seeded"
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        server.start(timeout=600)
        cold_start = time.perf_counter() - started

        results = []
        try:
            for who, actor in (("admin", {"id": "a", "roles": ["admin"]}),
                               ("member", {"id": "m", "roles": ["member"]})):
                with server.client(actor) as client:
                    for label, params in json_cases(args.files):
                        if args.only not in label:
                            continue
                        if who == "member" and params.get("source") == "archive":
                            continue
                        samples, body = timed(client, "/-/files/search.json", params,
                                              args.requests, server)
                        results.append((who, label, *percentiles(samples),
                                        body.get("total_display", "")))
                        if args.no_deep:
                            continue
                        cursor = deep_cursor(client, params)
                        if cursor:
                            samples, body = timed(client, "/-/files/search.json",
                                                  {**params, "next": cursor}, args.requests,
                                                  server)
                            results.append((who, label + " / deep", *percentiles(samples),
                                            f"page {body.get('page')}"))
                    for label, path, params in page_cases():
                        if args.only not in label:
                            continue
                        if who == "member" and params.get("source") == "archive":
                            continue
                        samples, _ = timed(client, path, params, args.requests, server)
                        results.append((who, label, *percentiles(samples), ""))
        finally:
            server.stop()

    print(f"Registry: {args.files:,} files ({how} in {prepared:.1f}s); "
          f"{args.requests} sequential requests per case, loopback")
    print(f"cold start (process start to first 200): {cold_start:.2f}s")
    print(f"{'actor':<7}{'case':<52}{'p50 ms':>8}{'p95 ms':>8}  total")
    over = 0
    for who, label, p50, p95, total in results:
        mark = "  FAILED" if p95 == float("inf") else "  OVER" if p95 > TARGET_MS else ""
        over += bool(mark)
        print(f"{who:<7}{label:<52}{p50:>8.1f}{p95:>8.1f}  {total}{mark}")
    print(f"{len(results)} cases; {over} with p95 over {TARGET_MS} ms")


if __name__ == "__main__":
    main()
