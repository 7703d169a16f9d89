"""Zip a 2 GiB folder through a real server; print MiB/s, the server's CPU and
its peak RSS, beside a plain download of one 2 GiB file in the same run.

    .venv/bin/python bench/zip.py [--size-mib 2048] [--runs 3] [--keep DIR]

The folder is a realistic mix of incompressible bytes (photos and videos
are): a few large files, some medium ones and many small ones, in
subfolders. The server runs on loopback with a fresh data directory; the
files are registered by a sync and hashed before anything is timed. curl is
the client (writing to /dev/null), so the client's CPU is not Python's. The
server's peak RSS is reset before each download (/proc/PID/clear_refs), so
each row's peak is that download's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import api  # noqa: E402
from support.server import DatasetteServer, actor_cookie, source_config  # noqa: E402

MiB = 1024 * 1024
ADMIN = {"id": "admin"}


def mix(total: int) -> list[tuple[str, int]]:
    """(path, size) of a folder of about ``total`` bytes: 60% in 4 large files,
    25% in 40 medium ones, 15% in small ones of 16 KiB to 1 MiB."""
    files = [(f"Shoot/video-{n}.mp4", int(total * 0.15)) for n in range(4)]
    files += [(f"Shoot/raw/IMG_{n:04d}.jpg", int(total * 0.25 / 40)) for n in range(40)]
    small_total, n = int(total * 0.15), 0
    while small_total > 0:
        size = min(small_total, (16 * 1024) << (n % 7))  # 16 KiB .. 1 MiB
        files.append((f"Shoot/docs/{n // 200:02d}/doc-{n:05d}.pdf", size))
        small_total -= size
        n += 1
    return files


def write_files(root: Path, files: list[tuple[str, int]]) -> None:
    block = os.urandom(16 * MiB)
    for path, size in files:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fp:
            left = size
            while left:
                offset = (left * 7919) % (len(block) // 2)  # not the same bytes each time
                piece = block[offset:offset + min(left, len(block) // 2)]
                fp.write(piece)
                left -= len(piece)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def fetch(server: DatasetteServer, path: str) -> dict:
    """One download with curl: bytes, seconds to the first byte and in all,
    and the server's CPU seconds and peak RSS during it."""
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM
    cpu = cpu_seconds(pid)
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "--fail", "-b", f"ds_actor={actor_cookie(ADMIN)}",
         "-w", "%{size_download} %{time_starttransfer} %{time_total}", server.url + path],
        check=True, capture_output=True, text=True).stdout.split()
    return {"bytes": int(out[0]), "first_byte": float(out[1]), "seconds": float(out[2]),
            "cpu": cpu_seconds(pid) - cpu, "peak_rss": peak_rss_mib(pid)}


def row(label: str, runs: list[dict]) -> str:
    size = runs[0]["bytes"]
    rate = statistics.median(size / MiB / r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs) / (size / 1024 / MiB)
    first = statistics.median(r["first_byte"] for r in runs)
    peak = max(r["peak_rss"] for r in runs)
    return (f"| {label:38s} | {size / MiB:8.0f} | {rate:7.0f} | {cpu:8.2f} | {first * 1000:6.0f} "
            f"| {peak:6.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a data directory to reuse between runs")
    args = parser.parse_args()
    total = args.size_mib * MiB
    data = args.keep or Path(tempfile.mkdtemp(prefix="bench-zip-"))
    root = data / "bench"
    files = mix(total)
    if not (root / "single.bin").exists():
        print(f"writing {len(files)} files ({total / MiB:.0f} MiB) and one of "
              f"{total / MiB:.0f} MiB under {root} ...", flush=True)
        write_files(root, files + [("single.bin", total)])
    config = {"permissions": {"files-browse": {"id": "admin"},
                              "files-manage-sources": {"id": "admin"}},
              "plugins": {"datasette-files": {"sources": {"bench": source_config(root)}}}}
    server = DatasetteServer(data / "server", config)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.start()
    try:
        with server.client(ADMIN) as client:
            started = time.perf_counter()
            api.wait_for_sync(client, "bench", hashed=True)
            print(f"synced and hashed in {time.perf_counter() - started:.0f} s", flush=True)
            single = client.get("/-/files/source/bench.json", params={
                "sort": "size", "order": "desc", "limit": 1}).json()["files"][0]
            assert single["filename"] == "single.bin", single
            ids = [f["id"] for f in client.get("/-/files/source/bench.json", params={
                "folder": "Shoot/docs/00", "limit": 500}).json()["files"]]
        rows = {"plain download, one file": [], f"zip of the folder ({len(files)} files)": [],
                f"zip of {len(ids)} ids (small files)": []}
        load_before = os.getloadavg()[0]
        rss_before = rss_mib(server.process.pid)
        for _ in range(args.runs):
            # Interleaved, so a noisy moment weighs on each alike.
            rows["plain download, one file"].append(fetch(server, single["download_url"]))
            rows[f"zip of the folder ({len(files)} files)"].append(
                fetch(server, "/-/files/-/zip?source=bench&folder=Shoot"))
            rows[f"zip of {len(ids)} ids (small files)"].append(
                fetch(server, "/-/files/-/zip?" + "&".join(f"id={i}" for i in ids)))
        print(f"\nmedian of {args.runs} runs; peak RSS is the highest of the runs "
              f"(the server's RSS before them: {rss_before:.0f} MiB); "
              f"load average before: {load_before:.1f}")
        print("| download                               |      MiB |   MiB/s | CPU s/GiB "
              "| first byte ms | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, runs in rows.items():
            print(row(label, runs))
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
