"""Sync of a large existing folder: first sync, a no-change re-sync, peak RSS.

    .venv/bin/python bench/sync.py [--files 100000]

Creates small files in nested folders (100 per folder), starts a server whose
source points at them with sync at start turned off, then times a sync through
the API until the files are registered and searchable (hashing runs after, in
the background, and is timed separately), then a re-sync with no change, then
one after renaming a folder of 10,000 files (they keep their ids: moves).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.server import DatasetteServer, source_config  # noqa: E402


def make_tree(root: Path, count: int) -> None:
    for n in range(count):
        folder = root / f"dept-{n // 10_000:02d}" / f"project-{n // 100:04d}"
        if n % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note-{n:06d}.txt").write_bytes(b"%d\n" % n)


def wait(client, until) -> dict:
    while True:
        status = client.get("/-/files/sync/share.json").json()
        if until(status):
            return status
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        make_tree(tmp / "share", args.files)
        created = time.perf_counter() - started
        server = DatasetteServer(tmp / "data", {
            "permissions": {"files-browse": True, "files-manage-sources": True},
            "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
                "share": source_config(tmp / "share")}}},
        })
        server.data_dir.mkdir()
        server.start()
        try:
            baseline = server.peak_rss_kib()
            with server.client() as client:
                results = {}
                for label in ("first sync", "re-sync, no change", "re-sync, folder renamed"):
                    if label == "re-sync, folder renamed":
                        (tmp / "share" / "dept-00").rename(tmp / "share" / "dept-00-renamed")
                    started = time.perf_counter()
                    assert client.post("/-/files/sync/share").status_code == 202
                    status = wait(client, lambda s: s["sync"]["state"] != "running"
                                  and not s["running"])
                    results[label] = (time.perf_counter() - started, status["sync"])
                    if label == "first sync":
                        found = client.get("/-/files/search.json",
                                           params={"q": f"note-{args.files - 1:06d}"}).json()
                        assert found["total"] == 1, found
                        started = time.perf_counter()
                        wait(client, lambda s: not s["hashing_pending"])
                        hashing = time.perf_counter() - started
            peak = server.peak_rss_kib()
        finally:
            server.stop()
    print(f"{args.files:,} small files in {args.files // 100:,} folders (created in "
          f"{created:.1f}s); loopback, {os.cpu_count()} CPUs")
    for label, (seconds, status) in results.items():
        print(f"{label:<20} {seconds:6.1f} s  (found {status['found']:,}, added "
              f"{status['added']:,}, removed {status['removed']}, changed {status['changed']}, "
              f"moved {status['moved']:,})")
    print(f"{'hashing after':<20} {hashing:6.1f} s  ({args.files / hashing:,.0f} files/s)")
    print(f"server RSS (VmHWM) after start-up: {baseline / 1024:.0f} MiB, "
          f"peak over the run: {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
