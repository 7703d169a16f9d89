"""Ours against upstream datasette-files 0.1a3 and copyparty, same machine, same run.

    .venv/bin/python bench/compare.py [--quick] [--runs 3] [--json PATH] [--only ours,...]
                                      [--skip large,small,search]

Installs the peers in their own virtualenvs under bench/.peers (once), starts
each server on loopback over a fresh directory, and measures through each
server's normal API: a large upload and download (and a ranged read from the
middle), small files one after another and from 8 clients, search.json
latency over seeded registries (as an admin and as a member), the source
listing page, peak server RSS during the large upload, and cold start.
Small files go through each server's simplest upload (ours: one PUT; upstream:
its three steps; copyparty: PUT), for the datasette-files servers through the
spec's three steps as well, and for ours through its fastest: the batch
upload, BATCH_FILES files per request, BATCH_IN_FLIGHT requests in flight
per client, as the upload page sends them (8 clients each send their share so).
Prints one table with our ratio to each peer (above 1: we are better), our
batch upload against each peer's simplest upload, and (with ours and
copyparty both measured) the two again with both servers up, a run of each
in turn; writes the figures as JSON. Throughputs are medians of --runs runs;
latencies are p50/p95 over all requests of all runs.
--skip leaves parts out (by default nothing is skipped): "large" (the large
files, which are then not even created), "small" (small files), "search"
(search, start-up with a large registry and the listing page). Cold start is
always measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from peers import PEERS, Refused, Server

WORDS = ["report", "invoice", "photo", "scan", "draft", "minutes", "budget", "plan"]
MIB = 1024 * 1024

# name -> (unit, higher is better)
METRICS = {}
# What --skip can leave out.
PARTS = ("large", "small", "search")
# Files per request of the batch upload, and requests one client keeps in
# flight: what the upload page sends at most (static/upload-batch.js).
BATCH_FILES = 100
BATCH_IN_FLIGHT = 3
BATCH_WAY = f"batch upload ({BATCH_FILES}/request, {BATCH_IN_FLIGHT} in flight)"


def metric(name: str, unit: str, higher_is_better: bool) -> str:
    METRICS[name] = (unit, higher_is_better)
    return name


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with open(path, "wb") as fp:
        for offset in range(0, size, len(block)):
            fp.write(block[: min(len(block), size - offset)])


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(len(ordered) * fraction)) - 1)]


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def large_file(server: Server, big: Path, runs: int, results: dict, notes: list) -> None:
    size = big.stat().st_size
    label = f"{size // MIB} MiB"
    uploads, durable, downloads, ranges, rss = [], [], [], [], []
    with server.session("admin") as client:
        for run in range(runs):
            os.sync()  # start each run with nothing left to write back
            started = time.perf_counter()
            try:
                url = server.upload(client, f"big-{run}.bin", path=big)
            except Refused as refusal:
                notes.append(f"{server.name} refused the {label} file ({refusal})")
                return
            uploads.append(size / MIB / (time.perf_counter() - started))
            # Until the bytes are on disk: ours fsyncs before answering, the peers
            # do not (and have no setting to), so this is the like-for-like figure.
            os.sync()
            durable.append(size / MIB / (time.perf_counter() - started))
            rss.append(server.peak_rss_mib())

            def download():
                with client.stream("GET", url) as response:
                    assert response.status_code == 200, response.status_code
                    received = sum(len(chunk) for chunk in response.iter_raw(MIB))
                assert received == size, received

            downloads.append(size / MIB / timed(download))
            middle = size // 2
            for _ in range(10):
                started = time.perf_counter()
                with client.stream("GET", url, headers={
                        "Range": f"bytes={middle}-{middle + MIB - 1}"}) as response:
                    if response.status_code != 206:  # ranges unsupported: not measured
                        break
                    assert len(response.read()) == MIB
                ranges.append((time.perf_counter() - started) * 1000)
            server.delete(client, url)
    results[metric(f"upload {label}", "MiB/s", True)] = statistics.median(uploads)
    results[metric(f"upload {label}, until on disk (then sync)", "MiB/s", True)] = \
        statistics.median(durable)
    results[metric(f"download {label}", "MiB/s", True)] = statistics.median(downloads)
    results[metric(f"ranged read, 1 MiB from the middle of {label}, p50", "ms", False)] = \
        percentile(ranges, .5) if ranges else None
    results[metric(f"peak server RSS during the {label} uploads", "MiB", False)] = max(rss)


def small_files(server: Server, count: int, runs: int, results: dict) -> None:
    """files/s through the server's simplest upload, through the spec's three
    steps and the batch upload where the server has them; one client, then 8
    at once."""
    content = os.urandom(4096)
    ways = {"simplest upload": server.upload_small}
    if server.has_three_steps and server.has_one_request_upload:
        ways["3-step API"] = lambda client, name, content: server.upload(client, name,
                                                                         content=content)
    if server.has_batch_upload:
        ways[BATCH_WAY] = None
    for way, upload in ways.items():
        send = sender(server, upload, content)
        rates = [small_file_rates(server, send, count, f"{way[0]}{run}") for run in range(runs)]
        results[metric(f"{count:,} small files, {way}, one client", "files/s", True)] = \
            statistics.median(one for one, _ in rates)
        results[metric(f"{count:,} small files, {way}, 8 clients", "files/s", True)] = \
            statistics.median(eight for _, eight in rates)
    if server.has_three_steps and not server.has_one_request_upload:
        # Its simplest upload is the three steps: the same figures.
        for clients in ("one client", "8 clients"):
            results[metric(f"{count:,} small files, 3-step API, {clients}", "files/s", True)] = \
                results[f"{count:,} small files, simplest upload, {clients}"]


def sender(server: Server, upload, content: bytes):
    """``send(client, names)``: each name with ``content``, through ``upload``
    one file at a time, or (``upload`` None) the batch upload."""
    def send(client, names: list[str]) -> None:
        if upload is None:
            batches = [[(name, content) for name in names[start:start + BATCH_FILES]]
                       for start in range(0, len(names), BATCH_FILES)]
            with concurrent.futures.ThreadPoolExecutor(BATCH_IN_FLIGHT) as pool:
                list(pool.map(lambda batch: server.upload_batch(client, batch), batches))
        else:
            for name in names:
                upload(client, name, content)

    return send


def small_file_rates(server: Server, send, count: int, label: str) -> tuple[float, float]:
    """files/s of one client sending ``count`` files, then of 8 clients sharing
    ``count`` others."""
    with server.session("member") as client:
        started = time.perf_counter()
        send(client, [f"small-{label}-{n}.txt" for n in range(count)])
        one = count / (time.perf_counter() - started)

    def one_client(worker: int) -> None:
        with server.session("member") as client:
            send(client, [f"small-{label}-c{n}.txt" for n in range(worker, count, 8)])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        started = time.perf_counter()
        list(pool.map(one_client, range(8)))
        eight = count / (time.perf_counter() - started)
    return one, eight


def batch_head_to_head(workdir: Path, count: int, runs: int) -> dict:
    """Our batch upload against copyparty's PUT with both servers up, a run of
    each in turn: a shared machine's load changes less between them than
    between measurements minutes apart. Medians, by (server, clients)."""
    ours, copyparty = PEERS["ours"](workdir / "h2h-ours"), PEERS["copyparty"](workdir / "h2h-cp")
    content = os.urandom(4096)
    ways = [(ours, sender(ours, None, content)),
            (copyparty, sender(copyparty, copyparty.upload_small, content))]
    rates: dict = {(server.name, clients): [] for server, _ in ways for clients in (1, 8)}
    try:
        ours.start()
        copyparty.start()
        for run in range(runs):
            for server, send in ways:
                one, eight = small_file_rates(server, send, count, f"h{run}")
                rates[(server.name, 1)].append(one)
                rates[(server.name, 8)].append(eight)
    finally:
        ours.stop()
        copyparty.stop()
    return {key: statistics.median(values) for key, values in rates.items()}


def seed_rows(start: int, stop: int):
    for n in range(start, stop):
        yield (f"df-{n:026d}", "team" if n % 10 else "archive",
               f"common {WORDS[n % len(WORDS)]} rare{n} file-{n}.txt")


def search(server: Server, sizes: list[int], requests: int, results: dict) -> None:
    """Seed the registry in bulk (server stopped) up to each size, then time queries."""
    seeded = 0
    for size in sizes:
        server.stop()
        print(f"  {server.name}: seeding {size:,} files", flush=True)
        rows = list(seed_rows(seeded, size))
        for start in range(0, len(rows), 100_000):
            server.seed(rows[start:start + 100_000])
        seeded = size
        results[metric(f"start-up with {size:,} files registered", "s", False)] = server.start()
        queries = {"rare term": {"q": f"rare{size // 3}"}, "term in every file": {"q": "common"},
                   "empty query": {}}
        if server.can_page_search:
            queries["deep page (cursor)"] = {"q": "common", "next": f"s{size // 2}"}
        for who in ("admin", "member"):
            with server.session(who) as client:
                for label, params in queries.items():
                    server.search(client, params)  # warm up
                    samples = []
                    for _ in range(requests):
                        started = time.perf_counter()
                        response = server.search(client, params)
                        samples.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.text[:500]
                    name = f"search {size:,}: {label}, {who}"
                    results[metric(f"{name}, p50", "ms", False)] = percentile(samples, .5)
                    results[metric(f"{name}, p95", "ms", False)] = percentile(samples, .95)
        if size == sizes[0] and server.listing_path:
            with server.session("member") as client:
                samples = []
                client.get(server.listing_path)
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(server.listing_path)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.status_code
            results[metric(f"source listing page, {size:,} files, p95", "ms", False)] = \
                percentile(samples, .95)


def measure(name: str, workdir: Path, files: list[Path], args, notes: list,
            results: dict) -> None:
    """Fill ``results`` with ``name``'s figures as they are measured."""
    server = PEERS[name](workdir / name)
    try:
        starts = []
        for _ in range(args.runs):
            starts.append(server.start())
            server.stop()
        results[metric("cold start to first 200", "s", False)] = statistics.median(starts)
        server.start()  # fresh: its peak RSS is start-up plus the large uploads
        for path in files:
            large_file(server, path, args.runs, results, notes)
        if "small" not in args.skip:
            small_files(server, args.small_files, args.runs, results)
        if server.can_search and "search" not in args.skip:
            search(server, args.search_sizes, args.requests, results)
    finally:
        server.stop()


def ratio(ours, theirs, higher_is_better: bool):
    if ours is None or theirs is None:
        return None
    return ours / theirs if higher_is_better else theirs / ours


def print_table(table: dict, names: list[str]) -> None:
    peers = [n for n in names if n != "ours"]
    header = f"{'figure':<58}{'unit':>7}" + "".join(f"{n:>11}" for n in names) + \
        "".join(f"{'vs ' + p:>14}" for p in peers)
    print(header)
    print("-" * len(header))
    for name, (unit, higher) in METRICS.items():
        row = [table.get(n, {}).get(name) for n in names]
        cells = "".join(f"{v:>11.1f}" if v is not None else f"{'n/a':>11}" for v in row)
        ours = table.get("ours", {}).get(name)
        ratios = [ratio(ours, table.get(p, {}).get(name), higher) for p in peers]
        cells += "".join(f"{r:>13.2f}x" if r is not None else f"{'':>14}" for r in ratios)
        print(f"{name:<58}{unit:>7}{cells}")
    print("(vs: our figure against the peer's, above 1 means we are better)")


def batch_against_simplest(table: dict, count: int) -> list[str]:
    """Lines comparing our batch upload with each peer's simplest upload (the
    rows of the table compare like with like, so they do not)."""
    lines = []
    for clients in ("one client", "8 clients"):
        ours = table.get("ours", {}).get(
            f"{count:,} small files, {BATCH_WAY}, {clients}")
        for peer, figures in table.items():
            theirs = figures.get(f"{count:,} small files, simplest upload, {clients}")
            if peer != "ours" and ours and theirs:
                lines.append(f"{count:,} small files, {clients}: our batch upload {ours:.0f} "
                             f"files/s, {peer}'s simplest upload {theirs:.0f} files/s: "
                             f"{ours / theirs:.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--only", default="ours,upstream,copyparty")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "compare.json"))
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: "
                        f"{','.join(PARTS)} (default: none)")
    args = parser.parse_args()
    args.skip = {part for part in args.skip.split(",") if part}
    if args.skip - set(PARTS):
        parser.error(f"--skip: unknown part(s) {', '.join(sorted(args.skip - set(PARTS)))}; "
                     f"known: {', '.join(PARTS)}")
    args.runs = args.runs or (1 if args.quick else 3)
    args.size_mib = 256 if args.quick else 1024
    args.small_files = 200 if args.quick else 2000
    args.search_sizes = [10_000] if args.quick else [100_000, 1_000_000]
    args.requests = 10 if args.quick else 30
    names = args.only.split(",")

    started = time.perf_counter()
    table, notes = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        tmp = Path(tmp)
        files = []
        # The large file, and one under upstream's fixed 100 MB upload limit.
        for size_mib in () if "large" in args.skip else (args.size_mib, 96):
            files.append(tmp / f"{size_mib}.bin")
            make_file(files[-1], size_mib * MIB)
        for name in names:
            print(f"measuring {name}...", flush=True)
            table[name] = {}
            try:
                measure(name, tmp, files, args, notes, table[name])
            except Exception as ex:  # one server failing must not lose the others' figures
                last_line = str(ex).strip().splitlines()[-1][:300]
                notes.append(f"{name} stopped: {type(ex).__name__}: {last_line}")
            shutil.rmtree(tmp / name, ignore_errors=True)
        head_to_head = {}
        if {"ours", "copyparty"} <= set(names) and "small" not in args.skip:
            print("measuring our batch upload against copyparty's PUT, in turn...", flush=True)
            head_to_head = batch_head_to_head(tmp, args.small_files, args.runs)
    elapsed = time.perf_counter() - started

    print(f"\n{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"loopback; {args.runs} run(s); took {elapsed:.0f} s\n")
    print_table(table, names)
    comparisons = batch_against_simplest(table, args.small_files)
    for clients in (1, 8):
        if head_to_head:
            ours, theirs = head_to_head[("ours", clients)], head_to_head[("copyparty", clients)]
            comparisons.append(
                f"{args.small_files:,} small files, {clients} client(s), both servers up, "
                f"runs in turn: our batch upload {ours:.0f} files/s, copyparty's PUT "
                f"{theirs:.0f} files/s: {ours / theirs:.2f}x")
    if comparisons:
        print()
    for line in comparisons:
        print(line)
    for note in notes:
        print(f"note: {note}")
    output = Path(args.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": args.runs, "quick": args.quick, "seconds": round(elapsed, 1),
        "skipped": sorted(args.skip),
        "units": {name: unit for name, (unit, _) in METRICS.items()},
        "higher_is_better": {name: higher for name, (_, higher) in METRICS.items()},
        "results": table,
        "batch_against_simplest": comparisons,
        "batch_head_to_head": {f"{name}, {clients} client(s)": rate
                               for (name, clients), rate in head_to_head.items()},
        "notes": notes,
        "fingerprint": hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()[:12],
    }, indent=2))
    print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
