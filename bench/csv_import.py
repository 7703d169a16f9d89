"""Import a large generated CSV through a real server; print rows/s and peak RSS.

    .venv/bin/python bench/csv_import.py [--size-mb 500]

Generates a CSV of mixed integer, float and text columns, uploads it through
the API (raw body), starts "Import as table", follows the job's JSON until it
finishes, and reads the server's peak resident memory (VmHWM). Loopback only.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import api  # noqa: E402
from support.server import DatasetteServer, source_config  # noqa: E402

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def make_csv(path: Path, size: int) -> int:
    rows = 0
    rng = random.Random(1)
    with open(path, "w", newline="") as fp:
        fp.write("id,quantity,price,city,comment\n")
        written = 0
        while written < size:
            lines = []
            for _ in range(10_000):
                rows += 1
                comment = " ".join(rng.choices(WORDS, k=4))
                lines.append(f'{rows},{rng.randint(0, 10**6)},{rng.random() * 1000:.4f},'
                             f'{rng.choice(WORDS).title()},"{comment}, noted"\n')
            chunk = "".join(lines)
            fp.write(chunk)
            written += len(chunk)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "big.csv"
        rows = make_csv(csv_path, args.size_mb * 1024 * 1024)
        size = csv_path.stat().st_size
        sqlite3.connect(tmp / "data.db").close()
        server = DatasetteServer(tmp / "server", {
            "permissions": {"files-browse": True, "files-upload": True,
                            "create-table": True, "insert-row": True},
            "plugins": {"datasette-files": {"sources": {
                "bench": source_config(tmp / "files", max_file_size=size * 2)}}},
        }, extra_args=[str(tmp / "data.db")])
        server.data_dir.mkdir()
        server.start()
        try:
            with server.client() as client:
                client.timeout = httpx.Timeout(600)
                token = api.prepare(client, "bench", "big.csv", size).json()["upload_token"]
                with open(csv_path, "rb") as fp:
                    sent = client.post("/-/files/upload/bench/-/upload", content=iter(
                        lambda: fp.read(1 << 20), b""), headers={"X-Upload-Token": token})
                assert sent.status_code == 200, sent.text
                file = api.complete(client, "bench", token).json()["file"]
                rss_before = server.peak_rss_kib()
                started = time.perf_counter()
                job = client.post(f"/-/files/import/{file['id']}",
                                  json={"database": "data", "table_name": "big"}).json()
                while True:
                    status = client.get(job["json_url"]).json()
                    if status["state"] in ("done", "failed", "interrupted"):
                        break
                    time.sleep(0.5)
                seconds = time.perf_counter() - started
                assert status["state"] == "done", status
                assert status["rows_imported"] == rows
            peak = server.peak_rss_kib()
        finally:
            server.stop()
        types = sqlite3.connect(tmp / "data.db").execute(
            "SELECT group_concat(type, ',') FROM pragma_table_info('big')").fetchone()[0]
    print(f"CSV: {size / 2**20:.0f} MiB, {rows:,} rows, 5 columns ({types}); loopback, "
          f"one job")
    print(f"import: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, {size / seconds / 1e6:.1f} MB/s")
    print(f"server peak RSS (VmHWM): {rss_before / 1024:.0f} MiB before the import, "
          f"{peak / 1024:.0f} MiB after")


if __name__ == "__main__":
    main()
