"""hot_paths.py's figures for several git refs at once, in interleaved blocks.

    .venv/bin/python bench/hot_paths_ab.py BASE_REF REF [REF ...] [--blocks 40] [--block 40]
                                           [--json PATH]

Starts one server per ref side by side (each ref's worktree and virtualenv
from bench/ab.py, under bench/.ab/), each logged in as the member through
/-/login. Then, phase by phase, it sends a block of requests to each server in
turn, rotating the order every block, so that load from elsewhere on the
machine falls on every ref alike (whole-run A/B rounds on this shared 2-CPU
machine moved by 30-70%). Phases: PUT of 4 KiB files with one client and with
8; GET download of a 4 KiB file; GET of a 1 MiB range from the middle of a
64 MiB file; GET of a small PNG's thumbnail, already generated.

Per ref and phase: files/s (the median over blocks) or p50/p95 latency (over
all requests), and the server's CPU time per request (utime+stime of the
server process from /proc/<pid>/stat, over its blocks). Per ref against the
first: the ratio of the figures (above 1 = better) and the paired per-block
ratios (same block, same moment): their median and 25th-75th percentiles.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx

from ab import Side, conditions, cpu_pressure_total, fmt, prepare
from compare import MIB, percentile
from hot_paths import cpu_seconds, png
from peers import Ours


@dataclass
class Target:
    """One ref's server, its logged-in clients and the files the GETs read."""

    side: Side
    server: Ours
    client: httpx.Client = None
    eight: list = field(default_factory=list)
    urls: dict = field(default_factory=dict)
    count: int = 0
    cpu: dict = field(default_factory=dict)  # phase -> server CPU seconds
    walls: dict = field(default_factory=dict)  # phase -> [block seconds]
    samples: dict = field(default_factory=dict)  # phase -> [[ms per request] per block]


CONTENT = os.urandom(4096)


def put(client: httpx.Client, target: Target) -> None:
    target.count += 1
    response = client.put(f"/-/files/upload/team/f-{target.count}.txt", content=CONTENT)
    assert response.status_code == 201, response.text[:300]


def get(client: httpx.Client, url: str, status: int, length: int, headers=None) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == status and len(response.content) == length, \
        (response.status_code, len(response.content))


def timed_requests(call: Callable[[], None], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def set_up(target: Target, big: Path) -> None:
    server = target.server
    server.start()
    target.client = server.session("member")
    target.eight = [server.session("member") for _ in range(8)]
    target.urls["small"] = server.upload_small(target.client, "small.txt", os.urandom(4096))
    target.urls["big"] = server.upload(target.client, "big.bin", path=big)
    thumb = server.upload_small(target.client, "picture.png", png()).replace(
        "/download", "/thumbnail")
    deadline = time.monotonic() + 60
    while target.client.get(thumb).headers["content-type"].startswith("image/svg"):
        assert time.monotonic() < deadline, "the thumbnail was not generated in 60 s"
        time.sleep(0.1)
    target.urls["thumb"] = thumb
    target.urls["thumb_length"] = len(target.client.get(thumb).content)


def phases(pool: concurrent.futures.Executor, big_size: int):
    """name -> (unit, requests per block as a multiple of --block, block(target, n))."""
    middle = big_size // 2
    ranged = {"Range": f"bytes={middle}-{middle + MIB - 1}"}

    def put_eight(t: Target, n: int) -> list[float]:
        def worker(client):
            return timed_requests(lambda: put(client, t), n // 8)
        return [ms for part in pool.map(worker, t.eight) for ms in part]

    return {
        "PUT 4 KiB files, one client": (
            "files/s", 1, lambda t, n: timed_requests(lambda: put(t.client, t), n)),
        "PUT 4 KiB files, 8 clients": ("files/s", 2, put_eight),
        "GET download 4 KiB": ("ms", 1, lambda t, n: timed_requests(
            lambda: get(t.client, t.urls["small"], 200, 4096), n)),
        "GET 1 MiB range of 64 MiB": ("ms", 0.25, lambda t, n: timed_requests(
            lambda: get(t.client, t.urls["big"], 206, MIB, ranged), n)),
        "GET thumbnail (generated)": ("ms", 1, lambda t, n: timed_requests(
            lambda: get(t.client, t.urls["thumb"], 200, t.urls["thumb_length"]), n)),
    }


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (None,) * 3
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def summarize(targets: list[Target], units: dict) -> dict:
    """name -> figure, as ab.py's summary: unit, higher_is_better, values per label..."""
    figures = {}
    base = targets[0]
    for phase, unit in units.items():
        def per_block(t: Target) -> list[float]:
            if unit == "files/s":
                return [len(s) / w for s, w in zip(t.samples[phase], t.walls[phase])]
            return [statistics.median(s) for s in t.samples[phase]]

        rows = {}
        for t in targets:
            everything = [ms for block in t.samples[phase] for ms in block]
            if unit == "files/s":
                rows.setdefault(f"{phase}", ("files/s", True, {}))[2][t.side.label] = \
                    statistics.median(per_block(t))
            else:
                rows.setdefault(f"{phase}, p50", ("ms", False, {}))[2][t.side.label] = \
                    percentile(everything, .5)
                rows.setdefault(f"{phase}, p95", ("ms", False, {}))[2][t.side.label] = \
                    percentile(everything, .95)
            rows.setdefault(f"server CPU per request: {phase}", ("ms", False, {}))[2][
                t.side.label] = t.cpu[phase] * 1000 / len(everything)
        higher_block = unit == "files/s"
        paired = {}
        for t in targets[1:]:
            # Per block, the ref against the base in the same block (above 1 = better).
            ratios = [(b / a if higher_block else a / b)
                      for a, b in zip(per_block(base), per_block(t))]
            paired[t.side.label] = quantiles(ratios)
        for name, (row_unit, higher, medians) in rows.items():
            figures[name] = {
                "unit": row_unit, "higher_is_better": higher, "median": medians,
                "ratio_vs_first": {t.side.label: (medians[t.side.label] / medians[base.side.label]
                                                  if higher else medians[base.side.label]
                                                  / medians[t.side.label]) for t in targets[1:]},
            }
            if not name.startswith("server CPU") and not name.endswith("p95"):
                figures[name]["paired_block_ratio_q1_median_q3"] = paired
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="+", metavar="REF")
    parser.add_argument("--blocks", type=int, default=40, help="blocks per phase and ref")
    parser.add_argument("--block", type=int, default=40, help="requests per block")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" /
                                              "hot_paths_ab.json"))
    args = parser.parse_args()
    labels: list[str] = []
    for ref in args.refs:
        labels.append(ref if ref not in labels else f"{ref}#{labels.count(ref) + 1}")
    sides = [prepare(ref, label) for ref, label in zip(args.refs, labels)]

    at_start, started = conditions(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-hot-paths-ab-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(8) as pool:
        big = Path(tmp) / "64.bin"
        big.write_bytes(os.urandom(64 * MIB))
        targets = [Target(s, Ours(Path(tmp) / f"s{i}", s.tree, str(s.python)))
                   for i, s in enumerate(sides)]
        pressure = {}
        try:
            for t in targets:
                set_up(t, big)
            units = {}
            for phase, (unit, scale, block) in phases(pool, big.stat().st_size).items():
                units[phase] = unit
                n = max(8, int(args.block * scale))
                for t in targets:  # warm-up
                    block(t, n)
                    t.cpu[phase], t.walls[phase], t.samples[phase] = 0.0, [], []
                stalled, phase_started = cpu_pressure_total(), time.monotonic()
                for index in range(args.blocks):
                    for t in targets[index % len(targets):] + targets[:index % len(targets)]:
                        cpu, block_started = cpu_seconds(t.server.process.pid), time.perf_counter()
                        t.samples[phase].append(block(t, n))
                        t.walls[phase].append(time.perf_counter() - block_started)
                        t.cpu[phase] += cpu_seconds(t.server.process.pid) - cpu
                if stalled is not None:
                    pressure[phase] = round(100 * (cpu_pressure_total() - stalled)
                                            / ((time.monotonic() - phase_started) * 1e6), 1)
                print(f"{phase}: done, CPU pressure {pressure.get(phase, 'n/a')}%",
                      file=sys.stderr, flush=True)
        finally:
            for t in targets:
                t.server.stop()
    at_end = conditions()
    figures = summarize(targets, units)

    print(f"\n{args.blocks} blocks of {args.block} requests per phase and ref (8 clients: "
          f"{args.block * 2}; ranges: {max(8, args.block // 4)}), order rotated per block; "
          f"{time.monotonic() - started:.0f} s")
    for s in sides:
        print(f"  {s.label}: {s.sha[:10]}")
    width = max(len(name) for name in figures) + 1
    header = f"{'figure':<{width}}{'unit':>8}" + "".join(f"{s.label[:12]:>13}" for s in sides) + \
        "".join(f"{(s.label + '/' + sides[0].label)[:16]:>17}" for s in sides[1:]) + \
        "   paired per-block ratio: q1 median q3"
    print(header)
    print("-" * len(header))
    for name, f in figures.items():
        cells = "".join(f"{fmt(f['median'][s.label]):>13}" for s in sides)
        cells += "".join(f"{f['ratio_vs_first'][s.label]:>16.3f}x" for s in sides[1:])
        paired = f.get("paired_block_ratio_q1_median_q3")
        if paired:
            cells += "   " + " | ".join(" ".join(f"{v:.2f}" for v in paired[s.label])
                                        for s in sides[1:])
        print(f"{name:<{width}}{f['unit']:>8}{cells}")
    print("(ratio: against the first ref, above 1 = better)")
    for when, c in (("start", at_start), ("end", at_end)):
        print(f"machine at {when} ({c['time']}): nproc {c['nproc']}, load "
              f"{' '.join(c['loadavg'])}; /proc/pressure/cpu: "
              f"{' / '.join(c['cpu_pressure'].splitlines())}")
    print("CPU pressure per phase (share of wall time some task waited for a CPU): " +
          ", ".join(f"{p} {v}%" for p, v in pressure.items()))
    output = Path(args.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "refs": [{"ref": s.ref, "label": s.label, "sha": s.sha} for s in sides],
        "blocks": args.blocks, "block": args.block,
        "machine": {"start": at_start, "end": at_end, "cpu_pressure_pct_per_phase": pressure},
        "figures": figures,
    }, indent=2))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
