"""Uploads and downloads on an s3-compatible source: straight to the bucket
(presigned) against through the app, with the app server's CPU seconds per GiB.

    .venv/bin/python bench/s3_transfer.py [--size-mb 256] [--runs 3]

One moto server (the S3 stand-in the tests use, from its scratch virtualenv)
and one Datasette server with our plugin run on loopback. Two sources share the
bucket under different prefixes: `direct` (presigned POST, multipart parts and
redirected downloads, as by default) and `proxied` (`direct_uploads: false`,
`proxy_downloads: true`: every byte through the app). Each way of moving the
file runs --runs times; the figures are medians. CPU is read from /proc for the
app server (and its worker children) and for moto, before and after each
transfer, and again once the file's hash is known: "app" is the app's CPU
until the transfer is done, "app+hash" adds the background hashing of an object
the bucket kept no SHA-256 for. The point: presigned transfers leave the app
with no byte work on the way. A direct POST lands on a staging key that
complete copies into place inside the service, asking it for the SHA-256, so
the app never reads it back; a multipart upload has no full-object SHA-256,
so the app hashes it afterwards, off the request path.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from large_file import make_file  # noqa: E402  (bench/ is on the path: run as a script)
from support.s3 import S3Admin, s3_env, s3_source, start_moto  # noqa: E402
from support.server import DatasetteServer  # noqa: E402

CHUNK = 1024 * 1024
BUCKET = "bench-transfers"
TICKS = os.sysconf("SC_CLK_TCK")
PART_WORKERS = 4


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children, and of children it waited for."""
    total = 0.0
    for proc in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # utime, stime, cutime, cstime (fields 14-17; 3 is the first after the name).
        total += sum(int(v) for v in fields[11:15]) / TICKS
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def read_range(path: Path, start: int, length: int) -> bytes:
    with open(path, "rb") as fp:
        fp.seek(start)
        return fp.read(length)


def prepare(client: httpx.Client, slug: str, path: Path, size: int, **extra) -> dict:
    answer = client.post(f"/-/files/upload/{slug}/-/prepare", json={
        "filename": path.name, "content_type": "application/octet-stream", "size": size,
        **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def complete(client: httpx.Client, slug: str, token: str) -> dict:
    done = client.post(f"/-/files/upload/{slug}/-/complete", json={"upload_token": token})
    assert done.status_code == 201, done.text
    return done.json()["file"]


def upload_direct_post(client, bucket_client, path, size, sha256=None) -> dict:
    plan = prepare(client, "direct", path, size, **({"sha256": sha256} if sha256 else {}))
    assert plan["transfer"] == "direct", plan
    with open(path, "rb") as fp:
        sent = bucket_client.post(plan["upload_url"], data=plan["upload_fields"],
                                  files={"file": (path.name, fp)})
    assert sent.status_code in (200, 201, 204), sent.text
    return complete(client, "direct", plan["upload_token"])


def upload_direct_multipart(client, bucket_client, path, size) -> dict:
    plan = prepare(client, "direct", path, size, multipart=True)
    assert plan["transfer"] == "multipart", plan
    parts_url = plan["multipart"]["parts_url"]
    numbers = list(range(1, plan["multipart"]["part_count"] + 1))
    most = plan["multipart"]["max_parts_per_request"]
    urls = []
    for i in range(0, len(numbers), most):
        answer = client.post(parts_url, json={"upload_token": plan["upload_token"],
                                              "part_numbers": numbers[i:i + most]})
        assert answer.status_code == 200, answer.text
        urls.extend(answer.json()["parts"])
    part_size = plan["multipart"]["part_size"]

    def put(part):
        start = (part["part_number"] - 1) * part_size
        body = read_range(path, start, part["size"])
        sent = bucket_client.put(part["url"], content=body)
        assert sent.status_code == 200, sent.text

    with concurrent.futures.ThreadPoolExecutor(PART_WORKERS) as pool:
        list(pool.map(put, urls))
    return complete(client, "direct", plan["upload_token"])


def upload_through_app(client, bucket_client, path, size) -> dict:
    plan = prepare(client, "proxied", path, size)
    assert plan.get("transfer", "server") == "server", plan

    def chunks():
        with open(path, "rb") as fp:
            while chunk := fp.read(CHUNK):
                yield chunk

    sent = client.post(plan["upload_url"], content=chunks(),
                       headers={"X-Upload-Token": plan["upload_token"],
                                "Content-Length": str(size)})
    assert sent.status_code == 200, sent.text
    return complete(client, "proxied", plan["upload_token"])


def download(client: httpx.Client, bucket_client: httpx.Client, file: dict) -> int:
    """GET the download; a redirect is followed with a client that sends no cookies."""
    received = 0
    first = client.get(file["download_url"], follow_redirects=False)
    if first.status_code in (302, 303, 307):
        request = ("GET", first.headers["location"])
        http = bucket_client
    else:
        assert first.status_code == 200, first.text
        request = ("GET", file["download_url"])
        http = client
    with http.stream(*request) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes(CHUNK):
            received += len(chunk)
    return received


def wait_for_hash(client: httpx.Client, file: dict, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while file.get("content_hash") is None and time.monotonic() < deadline:
        time.sleep(0.2)
        file.update(client.get(f"/-/files/{file['id']}.json").json())
    assert file.get("content_hash"), f"no hash after {timeout} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * CHUNK

    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        tmp = Path(tmp)
        moto = start_moto(tmp)
        S3Admin(moto.url, BUCKET).create()
        path = tmp / "big.bin"
        expected = make_file(path, size)
        limit = {"max_file_size": size * 2}
        server = DatasetteServer(tmp / "data", {
            "permissions": {"files-browse": True, "files-upload": True, "files-delete": True},
            "plugins": {"datasette-files": {"sources": {
                "direct": s3_source(moto.url, BUCKET, "direct/", cors_origins=["*"],
                                   manage_cors=True, **limit),
                "proxied": {**s3_source(moto.url, BUCKET, "proxied/", proxy_downloads=True,
                                        **limit), "direct_uploads": False},
            }}},
        }, env={**os.environ, **s3_env()})
        server.data_dir.mkdir()
        server.start()
        ways = {
            "upload: direct POST + sha256": lambda c, b: upload_direct_post(c, b, path, size,
                                                                             expected),
            "upload: direct POST, hashed later": lambda c, b: upload_direct_post(c, b, path,
                                                                                  size),
            "upload: direct multipart": lambda c, b: upload_direct_multipart(c, b, path, size),
            "upload: through the app": lambda c, b: upload_through_app(c, b, path, size),
        }
        results: dict[str, list[tuple[float, float, float]]] = {}
        try:
            with server.client() as client, httpx.Client(timeout=600) as bucket_client:
                client.timeout = httpx.Timeout(600)
                for _ in range(args.runs):
                    for label, way in ways.items():
                        app_before, moto_before = (cpu_seconds(server.process.pid),
                                                   cpu_seconds(moto.process.pid))
                        started = time.perf_counter()
                        file = way(client, bucket_client)
                        seconds = time.perf_counter() - started
                        app_at_complete = cpu_seconds(server.process.pid) - app_before
                        wait_for_hash(client, file)
                        assert file["content_hash"] == f"sha256:{expected}", file
                        record(results, label, size, seconds, app_at_complete,
                               cpu_seconds(server.process.pid) - app_before,
                               cpu_seconds(moto.process.pid) - moto_before)
                        download_label = ("download: through the app" if "through" in label
                                          else "download: presigned redirect")
                        if "POST + sha256" in label or "through" in label:
                            app_before, moto_before = (cpu_seconds(server.process.pid),
                                                       cpu_seconds(moto.process.pid))
                            started = time.perf_counter()
                            assert download(client, bucket_client, file) == size
                            app_cpu = cpu_seconds(server.process.pid) - app_before
                            record(results, download_label, size,
                                   time.perf_counter() - started, app_cpu, app_cpu,
                                   cpu_seconds(moto.process.pid) - moto_before)
                        client.post(f"/-/files/{file['id']}/-/delete", json={})
            peak_rss_mib = server.peak_rss_kib() / 1024
        finally:
            server.stop()
            moto.stop()

    load = os.getloadavg()
    print(f"File: {args.size_mb} MiB, {args.runs} runs, loopback, one client, "
          f"{os.cpu_count()} CPUs, load average at the end {load[0]:.2f}")
    print("CPU seconds per GiB moved: the app's until the transfer is done, the app's with "
          "its later hashing, moto's")
    print(f"{'transfer':<36}{'MB/s':>8}{'app':>8}{'app+hash':>10}{'moto':>8}")
    for label, figures in results.items():
        rate, app, hashed, peer = (statistics.median(f[i] for f in figures) for i in range(4))
        print(f"{label:<36}{rate:>8.0f}{app:>8.2f}{hashed:>10.2f}{peer:>8.2f}")
    print(f"app server peak RSS (VmHWM): {peak_rss_mib:.0f} MiB")


def record(results, label, size, seconds, app_cpu, app_cpu_with_hash, moto_cpu) -> None:
    gib = size / 2**30
    results.setdefault(label, []).append((size / seconds / 1e6, app_cpu / gib,
                                          app_cpu_with_hash / gib, moto_cpu / gib))


if __name__ == "__main__":
    main()
