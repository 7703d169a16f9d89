"""A real Datasette server in a subprocess, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import httpx

SECRET = "test-secret-not-for-production"
DATASETTE = str(Path(sys.executable).parent / "datasette")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def actor_cookie(actor: dict, secret: str = SECRET) -> str:
    """The signed ``ds_actor`` cookie Datasette reads the actor from."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret, "actor").dumps({"a": actor})


class DatasetteServer:
    """``datasette serve`` with a config, a persistent internal database and a
    data directory; start(), stop() and restart() keep the same data."""

    def __init__(
        self,
        data_dir: Path,
        config: dict,
        extra_args: Optional[list[str]] = None,
        env: Optional[dict] = None,
    ):
        self.data_dir = Path(data_dir)
        self.config = config
        self.extra_args = extra_args or []
        self.env = env or {}
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def internal_db(self) -> Path:
        return self.data_dir / "internal" / "internal.db"

    def write_config(self) -> Path:
        path = self.data_dir / "datasette.json"
        path.write_text(json.dumps(self.config, indent=2))
        return path

    def command(self) -> list[str]:
        return [
            DATASETTE, "serve",
            "--config", str(self.write_config()),
            "--internal", str(self.internal_db),
            "--port", str(self.port),
            *self.extra_args,
        ]

    def start(self, timeout: float = 30) -> "DatasetteServer":
        self.internal_db.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DATASETTE_SECRET": SECRET, **self.env}
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(), env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/-/versions.json", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def restart(self) -> "DatasetteServer":
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, actor: Optional[dict] = None, **kwargs) -> httpx.Client:
        """An HTTP client acting as ``actor`` (anonymous when None)."""
        cookies = {"ds_actor": actor_cookie(actor)} if actor else {}
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=60, **kwargs)

    def peak_rss_kib(self) -> int:
        """The server process's peak resident memory (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("VmHWM not available")


def source_config(root: Path, **config) -> dict:
    return {"storage": "filesystem", "config": {"root": str(root), **config}}


def api_token(actor_id: str, secret: str = SECRET) -> str:
    """A Datasette signed API token (``dstok_...``), as /-/create-token makes."""
    import asyncio

    from datasette.app import Datasette

    return asyncio.run(Datasette(secret=secret).create_token(actor_id))
