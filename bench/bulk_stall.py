"""Issue 19: does one bulk request stall other users?

    .venv/bin/python bench/bulk_stall.py [--files 1000] [--size-kib 512]
        [--kind move|delete|flood]

A real server on loopback with two sources, "team" and "archive"; FILES files
of SIZE KiB are put in team's storage and found by the start-up sync. One
client then moves them all to "archive" in one POST /-/files/-/move (copies
across sources), or with --kind delete trashes them in one POST
/-/files/-/delete, or with --kind flood 20 clients send 100 bulk deletes of
1,000 missing ids. Meanwhile a bystander, over and over, loads team's source
page, uploads a 10 KiB file to team, creates a folder in team and deletes the
file it uploaded (those two wait for the source's lock). Each kind's
latencies before and during are printed. A script, not part of CI: the
figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support import api  # noqa: E402
from support.config import ADMIN, OPEN_PERMISSIONS  # noqa: E402
from support.server import DatasetteServer, actor_cookie, source_config  # noqa: E402


def client_of(server) -> httpx.Client:
    """An admin's client that waits as long as a bulk request may take."""
    return httpx.Client(base_url=server.url, cookies={"ds_actor": actor_cookie(ADMIN)},
                        timeout=900)


def all_ids(client, slug: str) -> list[str]:
    ids, url = [], f"/-/files/source/{slug}.json?limit=100"
    while url:
        page = client.get(url).json()
        ids += [file["id"] for file in page["files"]]
        url = page.get("next_url")
    return ids


def bystander(server, stop: threading.Event, samples: list) -> None:
    """(kind, started, seconds) for each action, until ``stop``."""
    n = 0
    with client_of(server) as client:
        while not stop.is_set():
            n += 1
            uploaded = {}
            for kind, act in (
                    ("page", lambda: client.get("/-/files/source/team")),
                    ("upload", lambda: uploaded.update(
                        api.upload(client, "team", f"by{n}.txt", b"b" * 10240))),
                    ("folder", lambda: client.post("/-/files/folders/team/-/create",
                                                   json={"name": f"F{n}"})),
                    ("trash", lambda: client.post(f"/-/files/{uploaded['id']}/-/delete",
                                                  json={}))):
                started = time.monotonic()
                answer = act()
                if answer is not None and answer.status_code >= 300:
                    kind += f" {answer.status_code}"
                samples.append((kind, started, time.monotonic() - started))
            time.sleep(0.05)


def flood(server, ids: list[str], clients: int = 20, each: int = 5):
    """``clients`` clients at once, each sending ``each`` bulk deletes of 1,000
    ids, none of which exists (each is still looked up and answered for); the
    last answer."""
    missing = [f"df-missing{n}" for n in range(1000)]

    def send(_):
        with client_of(server) as client:
            for _ in range(each):
                answer = client.post("/-/files/-/delete", json={"ids": missing})
        return answer

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(send, range(clients)))[-1]


def summary(samples: list, start: float, end: float) -> str:
    lines = []
    for kind in sorted({k for k, _, _ in samples}):
        before = [s for k, t, s in samples if k == kind and t < start]
        during = [s for k, t, s in samples if k == kind and start <= t < end]
        fmt = lambda xs: (f"n={len(xs)} p50={statistics.median(xs) * 1000:.0f} ms "
                          f"max={max(xs) * 1000:.0f} ms") if xs else "n=0"
        lines.append(f"  {kind:7} before: {fmt(before)} | during: {fmt(during)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size-kib", type=int, default=512)
    parser.add_argument("--kind", choices=("move", "delete", "flood"), default="move")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bulk-stall-"))
    (data / "team").mkdir()
    (data / "archive").mkdir()
    block = os.urandom(args.size_kib * 1024)
    for n in range(args.files):
        (data / "team" / f"big{n:04}.bin").write_bytes(block)
    server = DatasetteServer(data / "server", {
        "permissions": OPEN_PERMISSIONS,
        "plugins": {"datasette-files": {"sources": {
            "team": source_config(data / "team"),
            "archive": source_config(data / "archive")}}}})
    server.data_dir.mkdir()
    server.start(timeout=120)
    try:
        with client_of(server) as client:
            api.wait_for_sync(client, "team", hashed=True) if args.files <= 3000 else None
            ids = all_ids(client, "team")
            print(f"{len(ids)} files of {args.size_kib} KiB in team")
            samples, stop = [], threading.Event()
            thread = threading.Thread(target=bystander, args=(server, stop, samples))
            thread.start()
            time.sleep(5)
            start = time.monotonic()
            if args.kind == "move":
                response = client.post("/-/files/-/move", json={"ids": ids, "source": "archive"})
            elif args.kind == "delete":
                response = client.post("/-/files/-/delete", json={"ids": ids})
            else:
                response = flood(server, ids)
            end = time.monotonic()
            body = response.json()
            oks = sum(r["ok"] for r in body["results"])
            time.sleep(2)
            stop.set()
            thread.join()
        asked = "100 requests of 1,000 missing ids" if args.kind == "flood" else \
            f"{oks}/{len(ids)} ok"
        print(f"bulk {args.kind}: {response.status_code}, {asked}, {end - start:.1f} s")
        print(summary(samples, start, end))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
