"""The three routes fast_paths.py answers ahead of Datasette's router, on our server alone.

    .venv/bin/python bench/hot_paths.py [--quick] [--json PATH]

Starts ours (peers.Ours, so BENCH_OURS_REPO / BENCH_OURS_PYTHON pick the
checkout, as bench/ab.py sets them) over a fresh directory on loopback and, as
the member logged in through /-/login (its session cookie, what browsers send):

- PUT /-/files/upload/team/{name} of 4 KiB files: files/s with one client and
  with 8 clients (threads, one connection each);
- GET /-/files/{id}/download of a 4 KiB file: p50/p95 latency;
- GET of a 1 MiB range from the middle of a 64 MiB file: p50/p95;
- GET /-/files/{id}/thumbnail of a small PNG whose thumbnail is already
  generated: p50/p95;

each after a warm-up, one request at a time on a kept-alive connection (except
the 8 clients), and for each phase the server process's CPU time per request
(utime+stime from /proc/<pid>/stat over the phase; thumbnail generation runs in
child processes, but it is done before the thumbnail phase starts).
Writes JSON in compare.py's format ("units", "higher_is_better", "results.ours").
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import httpx

from compare import MIB, percentile
from peers import Ours

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
METRICS: dict[str, tuple[str, bool]] = {}  # name -> (unit, higher is better)


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def record(results: dict, name: str, unit: str, higher: bool, value: float) -> None:
    METRICS[name] = (unit, higher)
    results[name] = value


def png(width: int = 320, height: int = 240) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def latencies(server: Ours, results: dict, label: str, requests: int,
              call: Callable[[], None]) -> None:
    """p50/p95 of ``call`` one at a time, and server CPU per request."""
    for _ in range(max(10, requests // 10)):
        call()  # warm-up
    samples = []
    cpu = cpu_seconds(server.process.pid)
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    cpu = cpu_seconds(server.process.pid) - cpu
    record(results, f"{label}, p50", "ms", False, percentile(samples, .5))
    record(results, f"{label}, p95", "ms", False, percentile(samples, .95))
    record(results, f"server CPU per request: {label}", "ms", False, cpu * 1000 / requests)


def puts(server: Ours, results: dict, count: int) -> None:
    content = os.urandom(4096)

    def put(client: httpx.Client, name: str) -> None:
        response = client.put(f"/-/files/upload/team/{name}", content=content)
        assert response.status_code == 201, response.text[:300]

    with server.session("member") as client:
        for n in range(max(10, count // 10)):
            put(client, f"warm-{n}.txt")
        cpu, started = cpu_seconds(server.process.pid), time.perf_counter()
        for n in range(count):
            put(client, f"one-{n}.txt")
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu
    label = "PUT 4 KiB files"
    record(results, f"{label}, one client", "files/s", True, count / elapsed)
    record(results, f"server CPU per request: {label}, one client", "ms", False,
           cpu * 1000 / count)

    def worker(index: int) -> None:
        with server.session("member") as client:
            for n in range(index, count, 8):
                put(client, f"eight-{n}.txt")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        cpu, started = cpu_seconds(server.process.pid), time.perf_counter()
        list(pool.map(worker, range(8)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu
    record(results, f"{label}, 8 clients", "files/s", True, count / elapsed)
    record(results, f"server CPU per request: {label}, 8 clients", "ms", False,
           cpu * 1000 / count)


def gets(server: Ours, results: dict, requests: int, big: Path) -> None:
    with server.session("member") as client:
        url = server.upload_small(client, "small.txt", os.urandom(4096))

        def download() -> None:
            response = client.get(url)
            assert response.status_code == 200 and len(response.content) == 4096, \
                response.status_code

        latencies(server, results, "GET download 4 KiB", requests, download)

        big_url = server.upload(client, "big.bin", path=big)
        middle = big.stat().st_size // 2
        headers = {"Range": f"bytes={middle}-{middle + MIB - 1}"}

        def ranged() -> None:
            response = client.get(big_url, headers=headers)
            assert response.status_code == 206 and len(response.content) == MIB, \
                response.status_code

        latencies(server, results, "GET 1 MiB range of 64 MiB", max(50, requests // 5), ranged)

        thumb_url = server.upload_small(client, "picture.png", png()).replace(
            "/download", "/thumbnail")
        deadline = time.monotonic() + 60
        while client.get(thumb_url).headers["content-type"].startswith("image/svg"):
            assert time.monotonic() < deadline, "the thumbnail was not generated in 60 s"
            time.sleep(0.1)

        def thumbnail() -> None:
            response = client.get(thumb_url)
            assert response.status_code == 200 and \
                not response.headers["content-type"].startswith("image/svg"), response.status_code

        latencies(server, results, "GET thumbnail (generated)", requests, thumbnail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "hot_paths.json"))
    args = parser.parse_args()
    count = 300 if args.quick else 1000

    started, results, notes = time.perf_counter(), {}, []
    with tempfile.TemporaryDirectory(prefix="bench-hot-paths-") as tmp:
        big = Path(tmp) / "64.bin"
        big.write_bytes(os.urandom(64 * MIB))
        server = Ours(Path(tmp) / "ours")
        server.start()
        try:
            puts(server, results, count)
            gets(server, results, count, big)
        finally:
            server.stop()
    elapsed = time.perf_counter() - started

    width = max(len(name) for name in results) + 2
    for name, value in results.items():
        print(f"{name:<{width}}{METRICS[name][0]:>8}{value:>10.2f}")
    output = Path(args.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count()}, "quick": args.quick, "seconds": round(elapsed, 1),
        "units": {name: unit for name, (unit, _) in METRICS.items()},
        "higher_is_better": {name: higher for name, (_, higher) in METRICS.items()},
        "results": {"ours": results}, "notes": notes,
    }, indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
