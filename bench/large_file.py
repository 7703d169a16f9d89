"""Upload and download one large file through a real server; print MB/s and peak RSS.

    .venv/bin/python bench/large_file.py [--size-mb 1024] [--runs 3]

The server runs on loopback with a fresh data directory under /tmp. The upload
goes through the spec's three steps, once as a raw body and once as a multipart
form, both streamed from disk by the client; the download streams to /dev/null.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import api  # noqa: E402
from support.server import DatasetteServer, source_config  # noqa: E402

CHUNK = 1024 * 1024


def make_file(path: Path, size: int) -> str:
    """Incompressible content, written once; returns its sha256."""
    digest = hashlib.sha256()
    block = os.urandom(16 * CHUNK)
    with open(path, "wb") as fp:
        written = 0
        while written < size:
            data = block[: min(len(block), size - written)]
            fp.write(data)
            digest.update(data)
            written += len(data)
    return digest.hexdigest()


def read_chunks(path: Path):
    with open(path, "rb") as fp:
        while chunk := fp.read(CHUNK):
            yield chunk


def upload(client: httpx.Client, path: Path, size: int, multipart: bool) -> dict:
    token = api.prepare(client, "bench", path.name, size).json()["upload_token"]
    if multipart:
        with open(path, "rb") as fp:
            sent = client.post("/-/files/upload/bench/-/upload",
                               data={"upload_token": token}, files={"file": (path.name, fp)})
    else:
        sent = client.post("/-/files/upload/bench/-/upload", content=read_chunks(path),
                           headers={"X-Upload-Token": token, "Content-Length": str(size)})
    assert sent.status_code == 200, sent.text
    done = api.complete(client, "bench", token)
    assert done.status_code == 201, done.text
    return done.json()["file"]


def download(client: httpx.Client, file: dict) -> int:
    received = 0
    with client.stream("GET", file["download_url"]) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes(CHUNK):
            received += len(chunk)
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * CHUNK

    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmp:
        tmp = Path(tmp)
        source = tmp / "big.bin"
        expected = make_file(source, size)
        server = DatasetteServer(tmp / "data", {
            "permissions": {"files-browse": True, "files-upload": True, "files-delete": True},
            "plugins": {"datasette-files": {"sources": {
                "bench": source_config(tmp / "data" / "files", max_file_size=size * 2)}}},
        })
        server.data_dir.mkdir()
        server.start()
        results = {"raw upload": [], "multipart upload": [], "download": []}
        try:
            with server.client() as client:
                client.timeout = httpx.Timeout(600)
                for _ in range(args.runs):
                    for label, multipart in (("raw upload", False), ("multipart upload", True)):
                        started = time.perf_counter()
                        file = upload(client, source, size, multipart)
                        results[label].append(size / (time.perf_counter() - started) / 1e6)
                        assert file["content_hash"] == f"sha256:{expected}"
                    started = time.perf_counter()
                    assert download(client, file) == size
                    results["download"].append(size / (time.perf_counter() - started) / 1e6)
                    # Keep the disk from filling: drop this run's files.
                    for found in client.get("/-/files/search.json?limit=500").json()["files"]:
                        client.post(f"/-/files/{found['id']}/-/delete", json={})
            peak_rss_mib = server.peak_rss_kib() / 1024
        finally:
            server.stop()

    print(f"File: {args.size_mb} MiB, {args.runs} runs, loopback, one client, "
          f"{os.cpu_count()} CPUs")
    print(f"{'step':<18}{'median MB/s':>12}{'min':>8}{'max':>8}")
    for label, figures in results.items():
        print(f"{label:<18}{statistics.median(figures):>12.0f}"
              f"{min(figures):>8.0f}{max(figures):>8.0f}")
    print(f"server peak RSS (VmHWM): {peak_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
