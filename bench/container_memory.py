"""Peak memory of the container while it works: is Fly's 256 MB machine enough?

    .venv/bin/python bench/container_memory.py [--size-mb 1024]

Builds (or reuses) the image, runs it with a 256 MiB memory limit, then
uploads a large file while four clients download another one, and prints the
container's peak memory from its cgroup. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import api  # noqa: E402
from support.image import build_image  # noqa: E402

CHUNK = 1024 * 1024


def server_peak_rss_kib(container_id: str) -> int:
    """VmHWM of the server (PID 1 in the container): its peak resident memory.
    The cgroup's own peak is no use here: it counts page cache, which fills
    any limit during a large upload and is reclaimed, not an OOM risk."""
    status = subprocess.run(["docker", "exec", container_id, "cat", "/proc/1/status"],
                            capture_output=True, text=True, check=True).stdout
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    image = build_image()
    volume = f"bench-{uuid.uuid4().hex[:8]}"
    container = subprocess.run(
        ["docker", "run", "-d", "--memory", "256m", "-p", "127.0.0.1::8001",
         "-v", f"{volume}:/data", image], capture_output=True, text=True, check=True,
    ).stdout.strip()
    try:
        port = subprocess.run(["docker", "port", container, "8001"], capture_output=True,
                              text=True, check=True).stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(url + "/-/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        password = re.search(r"password: (\S+)", logs.stdout + logs.stderr).group(1)
        cookies = httpx.post(url + "/-/login",
                             data={"username": "admin", "password": password}).cookies
        at_rest = server_peak_rss_kib(container)
        with httpx.Client(base_url=url, cookies=cookies, timeout=600) as client, \
                tempfile.TemporaryDirectory() as tmp:
            shared = api.upload(client, "archive", "shared.bin", os.urandom(100 * CHUNK), raw=True)
            big = Path(tmp) / "big.bin"
            with open(big, "wb") as fp:
                for _ in range(args.size_mb):
                    fp.write(os.urandom(CHUNK))

            def download():
                with httpx.Client(base_url=url, cookies=cookies, timeout=600) as c:
                    for _ in range(3):
                        with c.stream("GET", shared["download_url"]) as r:
                            for _ in r.iter_bytes(CHUNK):
                                pass

            readers = [threading.Thread(target=download) for _ in range(4)]
            for reader in readers:
                reader.start()
            token = api.prepare(client, "archive", "big.bin", args.size_mb * CHUNK).json()[
                "upload_token"]

            def chunks():
                with open(big, "rb") as fp:
                    while chunk := fp.read(CHUNK):
                        yield chunk

            started = time.perf_counter()
            sent = client.post("/-/files/upload/archive/-/upload", content=chunks(),
                               headers={"X-Upload-Token": token})
            assert sent.status_code == 200, sent.text
            assert api.complete(client, "archive", token).status_code == 200
            seconds = time.perf_counter() - started
            for reader in readers:
                reader.join()
        peak = server_peak_rss_kib(container)
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}",
                                container], capture_output=True, text=True).stdout.split()
        print(f"container limited to 256 MiB; {args.size_mb} MiB upload in {seconds:.1f}s "
              f"with 4 concurrent 100 MiB downloads x3")
        print(f"server peak RSS (VmHWM): after start {at_rest / 1024:.0f} MiB, "
              f"after the load {peak / 1024:.0f} MiB; OOM-killed: {state[0]}, running: {state[1]}")
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)


if __name__ == "__main__":
    main()
