"""search.json latency and cold start over a large registry; prints p50/p95.

    .venv/bin/python bench/search.py [--files 100000] [--requests 100]

The registry is seeded in bulk straight into the internal database (through
its own triggers, so the full-text index is real), then a server starts on
loopback and each query is timed from a client, as an admin and as a member
who may browse only one of the two sources.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.server import DatasetteServer, source_config  # noqa: E402

WORDS = ["report", "invoice", "photo", "scan", "draft", "minutes", "budget", "plan"]


def seed(db_path: Path, count: int) -> None:
    conn = sqlite3.connect(db_path)
    rows = (
        (
            f"df-{n:026d}",
            "team" if n % 10 else "archive",
            f"p{n}",
            # "common" matches every file; "rare{n}" exactly one; one of WORDS in 1 of 8.
            f"common {WORDS[n % len(WORDS)]} rare{n} file-{n}.txt",
            "2026-01-01 00:00:00",
        )
        for n in range(count)
    )
    # Registered files have hashes (uploads are hashed as they arrive).
    with conn:
        conn.executemany(
            "INSERT INTO datasette_files_files (id, source_slug, path, filename, content_type, "
            "size, created_at, content_hash) VALUES (?, ?, ?, ?, 'text/plain', 1, ?, 'sha256:0')",
            rows,
        )
    conn.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        tmp = Path(tmp)
        server = DatasetteServer(tmp, {
            "permissions": {"files-browse": {
                "team": {"allow": {"roles": ["member", "admin"]}},
                "archive": {"allow": {"roles": "admin"}}}},
            "plugins": {"datasette-files": {"sources": {
                "team": source_config(tmp / "team"), "archive": source_config(tmp / "archive")}}},
        })
        server.start()
        server.stop()
        started = time.perf_counter()
        seed(server.internal_db, args.files)
        seeded = time.perf_counter() - started

        started = time.perf_counter()
        server.start()
        cold_start = time.perf_counter() - started

        deep_cursor = f"s{args.files // 2}"
        queries = {
            "rare term": {"q": f"rare{args.files // 3}"},
            "common term": {"q": "common"},
            "one in 8": {"q": "budget"},
            "empty query": {},
            "deep page": {"q": "common", "next": deep_cursor},
            "deep page, no q": {"next": deep_cursor},
        }
        results = []
        try:
            for who, actor in (("admin", {"id": "a", "roles": ["admin"]}),
                               ("member", {"id": "m", "roles": ["member"]})):
                with server.client(actor) as client:
                    for label, params in queries.items():
                        client.get("/-/files/search.json", params=params)  # warm up
                        samples = []
                        for _ in range(args.requests):
                            t0 = time.perf_counter()
                            response = client.get("/-/files/search.json", params=params)
                            samples.append((time.perf_counter() - t0) * 1000)
                            assert response.status_code == 200, (response.text,
                                                                 server.log()[-3000:])
                        body = response.json()
                        p50, p95 = percentiles(samples)
                        results.append((who, label, p50, p95, body["total_display"]))
        finally:
            server.stop()

    print(f"Registry: {args.files:,} files (seeded in {seeded:.1f}s); "
          f"{args.requests} sequential requests per query, loopback")
    print(f"cold start (process start to first 200): {cold_start:.2f}s")
    print(f"{'actor':<8}{'query':<18}{'p50 ms':>8}{'p95 ms':>8}  total")
    for who, label, p50, p95, total in results:
        print(f"{who:<8}{label:<18}{p50:>8.1f}{p95:>8.1f}  {total}")


if __name__ == "__main__":
    main()
