"""A real Datasette server in a subprocess, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import httpx

SECRET = "test-secret-not-for-production"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DATASETTE = str(Path(sys.executable).parent / "datasette")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def actor_cookie(actor: dict, secret: str = SECRET) -> str:
    """The signed ``ds_actor`` cookie Datasette reads the actor from."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret, "actor").dumps({"a": actor})


class ServerProcess:
    """A server in a subprocess on a free loopback port, ready once ``ready_path``
    answers 200; start() records ``started_in``, the seconds that took."""

    ready_path = "/"

    def __init__(self, log_path: Path, env: Optional[dict] = None, cwd: Path = REPO_ROOT):
        self.log_path = log_path
        self.env = env or {}
        self.cwd = cwd
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self.started_in: Optional[float] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict:
        return dict(os.environ)

    def start(self, timeout: float = 30) -> "ServerProcess":
        self._log = open(self.log_path, "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command(), env={**self.environment(), **self.env}, cwd=str(self.cwd),
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    self.started_in = time.perf_counter() - started
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
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

    def restart(self) -> "ServerProcess":
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 10) -> str:
        """The log once it holds ``text``: a server writes a request's access
        line after sending the answer, so a client can read the log too early."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return log

    def peak_rss_kib(self) -> int:
        """The server process's peak resident memory (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("VmHWM not available")


class DatasetteServer(ServerProcess):
    """``datasette serve`` with a config, a persistent internal database and a
    data directory; start(), stop() and restart() keep the same data."""

    def __init__(
        self,
        data_dir: Path,
        config: dict,
        extra_args: Optional[list[str]] = None,
        env: Optional[dict] = None,
        datasette: str = DATASETTE,
    ):
        """``datasette`` is the executable: another virtualenv's serves what is
        installed there."""
        self.data_dir = Path(data_dir)
        super().__init__(self.data_dir / "server.log", env)
        self.config = config
        self.extra_args = extra_args or []
        self.datasette = datasette

    @property
    def internal_db(self) -> Path:
        return self.data_dir / "internal" / "internal.db"

    def write_config(self) -> Path:
        path = self.data_dir / "datasette.json"
        path.write_text(json.dumps(self.config, indent=2))
        return path

    def command(self) -> list[str]:
        return [
            self.datasette, "serve",
            "--config", str(self.write_config()),
            "--internal", str(self.internal_db),
            "--port", str(self.port),
            *self.extra_args,
        ]

    ready_path = "/-/versions.json"

    def environment(self) -> dict:
        return {**os.environ, "DATASETTE_SECRET": SECRET}

    def start(self, timeout: float = 30) -> "DatasetteServer":
        self.internal_db.parent.mkdir(parents=True, exist_ok=True)
        return super().start(timeout)

    def client(self, actor: Optional[dict] = None, **kwargs) -> httpx.Client:
        """An HTTP client acting as ``actor`` (anonymous when None)."""
        cookies = {"ds_actor": actor_cookie(actor)} if actor else {}
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=60, **kwargs)


def start_with_files(server: DatasetteServer, rows: list[dict]) -> DatasetteServer:
    """Start ``server`` with ``rows`` (column -> value, the same columns in
    each) inserted straight into its registry's files table first: dates,
    uploaders and numbers of files no upload through the API would give."""
    server.start()  # makes the registry's tables
    server.stop()
    columns = list(rows[0])
    conn = sqlite3.connect(server.internal_db)
    with conn:
        conn.executemany(
            f"INSERT INTO datasette_files_files ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            [[row[column] for column in columns] for row in rows])
    conn.close()
    return server.start()


def assert_no_server_errors(server: ServerProcess) -> None:
    """Whatever a test sent, the server never answered 500 or logged a traceback."""
    log = server.log()
    assert " 500 Internal Server Error" not in log and "Traceback" not in log, log[-5000:]


def source_config(root: Path, **config) -> dict:
    return {"storage": "filesystem", "config": {"root": str(root), **config}}


def api_token(actor_id: str, secret: str = SECRET) -> str:
    """A Datasette signed API token (``dstok_...``), as /-/create-token makes."""
    import asyncio

    from datasette.app import Datasette

    return asyncio.run(Datasette(secret=secret).create_token(actor_id))


class AppServer(DatasetteServer):
    """The application (`python -m app serve`) over a data directory, with the
    repository's config/datasette.yaml unless ``config_path`` is given."""

    def __init__(self, data_dir: Path, config_path: Optional[Path] = None,
                 env: Optional[dict] = None):
        super().__init__(data_dir, config={}, env=env)
        self.config_path = config_path
        # Beside the data directory, so a restore can start from an empty one.
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"

    ready_path = "/-/health"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app", "serve"]

    def environment(self) -> dict:
        # Only what a fresh deployment has: keys and logins come from the data
        # directory or from what the test sets in ``env``.
        env = {k: v for k, v in os.environ.items()
               if k != "DATASETTE_SECRET" and not k.startswith("PASSWORD_HASH_")}
        env.update(DATA_DIR=str(self.data_dir), PORT=str(self.port))
        if self.config_path:
            env["CONFIG_PATH"] = str(self.config_path)
        return env

    def secret(self) -> str:
        return json.loads((self.data_dir / "internal" / "keys.json").read_text())[
            "DATASETTE_SECRET"]

    def client(self, actor: Optional[dict] = None, **kwargs) -> httpx.Client:
        cookies = {"ds_actor": actor_cookie(actor, self.secret())} if actor else {}
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=60, **kwargs)

    def login(self, username: str, password: str) -> httpx.Client:
        """A client logged in through the real login form."""
        response = httpx.post(self.url + "/-/login",
                              data={"username": username, "password": password})
        assert response.status_code == 302, response.text[-500:]
        return httpx.Client(base_url=self.url, cookies=response.cookies, timeout=60)

    def generated_admin_password(self) -> str:
        for line in self.log().splitlines():
            if line.strip().startswith("password:"):
                return line.split(":", 1)[1].strip()
        raise AssertionError("no generated admin password in the log")


def member_env(member_id: str, password: str) -> dict:
    """The environment entry `files-server member ID` prints for a password."""
    out = subprocess.run(
        [sys.executable, "-m", "app", "member", member_id, "--password-stdin"],
        input=password, capture_output=True, text=True, check=True, cwd=str(REPO_ROOT),
    ).stdout.strip()
    name, value = out.split("=", 1)
    return {name: value.strip("'")}
