"""Peak memory of the container while it works: is Fly's 256 MB machine enough?

    .venv/bin/python bench/container_memory.py [--size-mb 1024]

Builds (or reuses) the image and runs it with a 256 MiB memory limit. Then, at
once: a CSV import runs, large photos are thumbnailed, a large file is
uploaded and four clients download another. It prints the server's peak RSS
and the peak of all the container's processes together (thumbnail workers
included), sampled from the host. Loopback only.
"""

from __future__ import annotations

import argparse
import io
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


def container_rss_kib(container_id: str) -> int:
    """Resident memory of every process in the container, summed (host /proc)."""
    pids = subprocess.run(["docker", "top", container_id, "-eo", "pid"], capture_output=True,
                          text=True).stdout.split()[1:]
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+)", status)
        total += int(match.group(1)) if match else 0
    return total


class Sampler(threading.Thread):
    def __init__(self, container_id):
        super().__init__(daemon=True)
        self.container_id, self.peak, self.running = container_id, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, container_rss_kib(self.container_id))
            time.sleep(0.2)


def photo(width, height) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


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
        sampler = Sampler(container)
        sampler.start()
        with httpx.Client(base_url=url, cookies=cookies, timeout=600) as client, \
                tempfile.TemporaryDirectory() as tmp:
            shared = api.upload(client, "archive", "shared.bin", os.urandom(100 * CHUNK), raw=True)
            rows = "\n".join(f"{n},{n * 3},name {n},{n / 7:.3f}" for n in range(1_500_000))
            table = api.upload(client, "archive", "big.csv", ("a,b,c,d\n" + rows).encode(),
                               "text/csv", raw=True)
            imported = client.post(f"/-/files/import/{table['id']}",
                                   json={"database": "data", "table_name": "big"})
            assert imported.status_code == 202, imported.text
            for n in range(3):
                api.upload(client, "team", f"photo-{n}.jpg", photo(6000, 4000), "image/jpeg",
                           raw=True)
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
            assert api.complete(client, "archive", token).status_code == 201
            seconds = time.perf_counter() - started
            for reader in readers:
                reader.join()
            while client.get(imported.json()["json_url"]).json()["status"] == "running":
                time.sleep(0.5)
            time.sleep(3)  # let the thumbnails finish
        sampler.running = False
        peak = server_peak_rss_kib(container)
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}",
                                container], capture_output=True, text=True).stdout.split()
        print(f"container limited to 256 MiB; {args.size_mb} MiB upload in {seconds:.1f}s "
              f"with 4 concurrent 100 MiB downloads x3, a 1.5M-row CSV import and three "
              f"24-megapixel photos thumbnailed")
        print(f"all the container's processes together, peak RSS (sampled): "
              f"{sampler.peak / 1024:.0f} MiB")
        print(f"server peak RSS (VmHWM): after start {at_rest / 1024:.0f} MiB, "
              f"after the load {peak / 1024:.0f} MiB; OOM-killed: {state[0]}, running: {state[1]}")
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)


if __name__ == "__main__":
    main()
