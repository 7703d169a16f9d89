"""The servers bench/compare.py measures: ours and the peers a team would pick
instead, each installed in its own virtualenv and run on loopback.

Each peer knows how to start, log in, upload, download, delete, search and
seed its registry, through its own normal API.

`Ours` runs this checkout with the running interpreter by default. Two
environment variables point it at another checkout instead (bench/ab.py uses
them to measure two git refs with the same benchmark code):

    BENCH_OURS_REPO     the checkout whose `app` and config/ are served
                        (default: this repository)
    BENCH_OURS_PYTHON   the interpreter that runs it, from a virtualenv with that
                        checkout's distributions installed (default: sys.executable)
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import httpx
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))

from support.server import ServerProcess, actor_cookie  # noqa: E402
from support.venvs import PEERS_DIR, UPSTREAM_REQUIREMENTS, ensure_venv  # noqa: E402,F401

OURS_REPO = Path(os.environ.get("BENCH_OURS_REPO") or REPO).resolve()
OURS_PYTHON = os.environ.get("BENCH_OURS_PYTHON") or sys.executable
COPYPARTY_REQUIREMENTS = ["copyparty==1.20.26"]
CHUNK = 1024 * 1024


class Refused(Exception):
    """The server refused an upload (a 4xx): the figure cannot be measured."""


def accepted(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code in statuses:
        return response
    if 400 <= response.status_code < 500:
        text = response.text
        message = re.search(r"border: 3px solid red;\">([^<]*)<", text)  # Datasette's HTML error
        raise Refused(f"{response.status_code}: {message.group(1) if message else text[:200]}")
    raise AssertionError(f"{response.status_code}: {response.text[:500]}")


def multipart_body(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of ``file`` parts, and its Content-Type."""
    boundary = "bench-" + os.urandom(12).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
             + content + b"\r\n" for name, content in files]
    return (b"".join(parts) + f"--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}")


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fp:
        while chunk := fp.read(CHUNK):
            yield chunk


class Server(ServerProcess):
    """One server on loopback, started fresh over its own directory."""

    name = ""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir / "server.log", cwd=workdir)

    def start(self, timeout: float = 60) -> float:
        """Start; return seconds from process start to the first 200 on ready_path."""
        try:
            return super().start(timeout).started_in
        except RuntimeError as ex:
            raise RuntimeError(f"{self.name}: {ex}") from None

    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib() / 1024

    # The API, as each server's own clients use it --------------------------------

    def session(self, who: str) -> httpx.Client:
        """A logged-in client: who is "admin" or "member"."""
        raise NotImplementedError

    def upload(self, client: httpx.Client, name: str, path: Optional[Path] = None,
               content: Optional[bytes] = None) -> str:
        """Upload a file from ``path`` (streamed) or ``content``; return its download URL."""
        raise NotImplementedError

    def upload_small(self, client: httpx.Client, name: str, content: bytes) -> str:
        """A small file through the server's simplest upload; its download URL."""
        return self.upload(client, name, content=content)

    has_three_steps = False
    has_one_request_upload = True
    # Many files in one request: upload_batch() (bench/compare.py's batch path).
    has_batch_upload = False

    def upload_batch(self, client: httpx.Client, files: list[tuple[str, bytes]]) -> None:
        """Upload ``files`` (name, content) in one request; each must be stored."""
        raise NotImplementedError

    def delete(self, client: httpx.Client, download_url: str) -> None:
        raise NotImplementedError

    can_search = False
    can_page_search = False
    listing_path: Optional[str] = None


class DatasetteFilesAPI(Server):
    """The spec's three-step upload, search and delete, shared by ours and upstream."""

    can_search = True
    has_three_steps = True
    has_one_request_upload = False
    listing_path = "/-/files/source/team"

    def prepare(self, client, name: str, size: int) -> str:
        response = accepted(client.post("/-/files/upload/team/-/prepare",
                                        json={"filename": name, "size": size}), 200)
        return response.json()["upload_token"]

    def complete(self, client, token: str) -> str:
        response = accepted(client.post("/-/files/upload/team/-/complete",
                                        json={"upload_token": token}), 200, 201)
        return f"/-/files/{response.json()['file']['id']}/download"

    def delete(self, client, download_url: str) -> None:
        file_id = download_url.split("/")[3]
        response = client.post(f"/-/files/{file_id}/-/delete", json={})
        assert response.status_code == 200, response.text

    def search(self, client, params: dict) -> httpx.Response:
        return client.get("/-/files/search.json", params=params)


class Ours(DatasetteFilesAPI):
    """This repository's application (`python -m app serve`), preset config."""

    name = "ours"
    ready_path = "/-/health"
    can_page_search = True
    has_one_request_upload = True

    def __init__(self, workdir: Path, repo: Optional[Path] = None,
                 python: Optional[str] = None):
        """``repo`` and ``python`` (defaults: OURS_REPO, OURS_PYTHON) pick the checkout."""
        super().__init__(workdir)
        self.repo, self.python = Path(repo or OURS_REPO), str(python or OURS_PYTHON)
        self.member_env = ours_member_env("alice", "alice-password", self.repo, self.python)
        self.cookies: dict = {}

    def command(self) -> list[str]:
        # The preset config, with room for the 1 GiB file in the team source, and no
        # sync at start: it would rightly drop the seeded rows, which have no bytes.
        config = yaml.safe_load((self.repo / "config" / "datasette.yaml").read_text())
        plugin = config["plugins"]["datasette-files"]
        plugin["sources"]["team"]["config"]["max_file_size"] = 2 * 1024 ** 3
        plugin["sync_on_start"] = False
        (self.workdir / "datasette.yaml").write_text(yaml.safe_dump(config))
        return [self.python, "-m", "app", "serve"]

    def environment(self) -> dict:
        return {**os.environ, **self.member_env, "DATA_DIR": str(self.workdir / "data"),
                "CONFIG_PATH": str(self.workdir / "datasette.yaml"),
                "PORT": str(self.port), "PYTHONPATH": str(self.repo)}

    def session(self, who: str) -> httpx.Client:
        # One login per member and server process: a login (pbkdf2) is not what
        # the upload figures measure.
        key = (who, self.process.pid)
        if key not in self.cookies:
            if who == "admin":
                password = re.search(r"password: (\S+)", self.log()).group(1)
                credentials = {"username": "admin", "password": password}
            else:
                credentials = {"username": "alice", "password": "alice-password"}
            response = httpx.post(self.url + "/-/login", data=credentials)
            assert response.status_code == 302, response.text[-300:]
            self.cookies[key] = dict(response.cookies)
        return httpx.Client(base_url=self.url, cookies=self.cookies[key], timeout=120)

    def upload(self, client, name, path=None, content=None) -> str:
        size = path.stat().st_size if path else len(content)
        token = self.prepare(client, name, size)
        accepted(client.post("/-/files/upload/team/-/upload",
                             content=read_chunks(path) if path else content,
                             headers={"X-Upload-Token": token, "Content-Length": str(size)}), 200)
        return self.complete(client, token)

    def upload_small(self, client, name, content) -> str:
        response = accepted(client.put(f"/-/files/upload/team/{name}", content=content), 201)
        return f"/-/files/{response.json()['file']['id']}/download"

    has_batch_upload = True

    def upload_batch(self, client, files) -> None:
        body, content_type = multipart_body(files)
        response = accepted(client.post("/-/files/upload/team/-/batch", content=body,
                                        headers={"Content-Type": content_type}), 200)
        assert response.json()["ok"], response.json()["errors"][:3]

    @property
    def internal_db(self) -> Path:
        return self.workdir / "data" / "internal" / "internal.db"

    def seed(self, rows: list[tuple]) -> None:
        """(id, source, filename) rows straight into the registry, through its triggers."""
        with sqlite3.connect(self.internal_db) as conn:
            conn.executemany(
                "INSERT INTO datasette_files_files (id, source_slug, path, filename, "
                "content_type, size, created_at, content_hash) "
                "VALUES (?, ?, 'p' || ?1, ?, 'text/plain', 1, '2026-01-01 00:00:00', 'sha256:0')",
                rows)


def ours_member_env(member_id: str, password: str, repo: Path, python: str) -> dict:
    """The environment entry `files-server member ID` prints, from the served checkout
    (tests/support/server.py's member_env, for another checkout and interpreter)."""
    out = subprocess.run(
        [python, "-m", "app", "member", member_id, "--password-stdin"],
        input=password, capture_output=True, text=True, check=True, cwd=str(repo),
    ).stdout.strip()
    name, value = out.split("=", 1)
    return {name: value.strip("'")}


class Upstream(DatasetteFilesAPI):
    """datasette-files 0.1a3 on Datasette 1.0a41, the same two sources; a signed
    ds_actor cookie is its logged-in session (as any Datasette login sets)."""

    name = "upstream"
    ready_path = "/-/versions.json"
    SECRET = "bench-secret"

    def command(self) -> list[str]:
        bin_dir = ensure_venv("upstream", UPSTREAM_REQUIREMENTS)
        config = {
            "permissions": {action: {"id": ["admin", "alice"]} for action in (
                "files-browse", "files-upload", "files-delete")},
            "plugins": {"datasette-files": {"sources": {
                slug: {"storage": "filesystem", "config": {
                    "root": str(self.workdir / slug), "max_file_size": 2 * 1024 ** 3}}
                for slug in ("team", "archive")}}},
        }
        (self.workdir / "datasette.json").write_text(json.dumps(config))
        # Note: its start-up rebuilds the full-text index in one execute_write,
        # which Datasette 1.0a41 stops after 2 s (not configurable): with about a
        # million files registered it cannot start.
        return [str(bin_dir / "datasette"), "serve", "--config", "datasette.json",
                "--internal", "internal.db", "--port", str(self.port)]

    def environment(self) -> dict:
        return {**os.environ, "DATASETTE_SECRET": self.SECRET}

    def session(self, who: str) -> httpx.Client:
        actor = {"id": "admin" if who == "admin" else "alice"}
        return httpx.Client(base_url=self.url, timeout=120,
                            cookies={"ds_actor": actor_cookie(actor, self.SECRET)})

    def upload(self, client, name, path=None, content=None) -> str:
        size = path.stat().st_size if path else len(content)
        token = self.prepare(client, name, size)
        fp = open(path, "rb") if path else content
        try:
            accepted(client.post("/-/files/upload/team/-/upload",
                                 data={"upload_token": token}, files={"file": (name, fp)}), 200)
        finally:
            if path:
                fp.close()
        return self.complete(client, token)

    @property
    def internal_db(self) -> Path:
        return self.workdir / "internal.db"

    def seed(self, rows: list[tuple]) -> None:
        with sqlite3.connect(self.internal_db) as conn:
            source_ids = dict(conn.execute("SELECT slug, id FROM datasette_files_sources"))
            conn.executemany(
                "INSERT INTO datasette_files (id, source_id, path, filename, content_type, "
                "size, created_at) VALUES (?, ?, 'p' || ?1, ?, 'text/plain', 1, "
                "'2026-01-01 00:00:00')",
                [(file_id, source_ids[source], filename) for file_id, source, filename in rows])


class Copyparty(Server):
    """copyparty with two accounts on one read-write volume; PUT uploads, GET
    downloads (its simplest API), password cookie as its logged-in session."""

    name = "copyparty"
    PASSWORDS = {"admin": "admin-pw", "member": "member-pw"}

    def command(self) -> list[str]:
        bin_dir = ensure_venv("copyparty", COPYPARTY_REQUIREMENTS)
        (self.workdir / "files").mkdir(exist_ok=True)
        return [str(bin_dir / "copyparty"), "-i", "127.0.0.1", "-p", str(self.port), "-q",
                "-a", f"admin:{self.PASSWORDS['admin']}",
                "-a", f"member:{self.PASSWORDS['member']}",
                "-v", f"{self.workdir / 'files'}:files:rw,admin,member"]

    def session(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120,
                            cookies={"cppwd": self.PASSWORDS[who]})

    def upload(self, client, name, path=None, content=None) -> str:
        body = read_chunks(path) if path else content
        headers = {"Content-Length": str(path.stat().st_size)} if path else {}
        accepted(client.put(f"/files/{name}", content=body, headers=headers), 200, 201)
        return f"/files/{name}"

    def delete(self, client, download_url: str) -> None:
        (self.workdir / "files" / download_url.rsplit("/", 1)[1]).unlink()


PEERS = {"ours": Ours, "upstream": Upstream, "copyparty": Copyparty}
