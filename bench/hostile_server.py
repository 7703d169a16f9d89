"""What bench/hostile.py measures with: the server under attack (from any
checkout), its memory from /proc, and a bystander member in another process.

The server is started as the tests start it (tests/support/server.py's
AppServer): `python -m app serve` from the checkout, a fresh DATA_DIR, the
checkout's shipped config/datasette.yaml, and password hashes made by that
checkout's `files-server member` for the admin and two members.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from support.server import ServerProcess  # noqa: E402

PASSWORDS = {"admin": "admin-password", "alice": "alice-password", "bob": "bob-password"}
# The bystander member; attacks log in as bob when they change his login.
MEMBER = "alice"
BYSTANDER_FILE = b"fourteen bytes"
KIB = 1024
MIB = 1024 * KIB


@dataclass
class Target:
    """The checkout whose server is attacked, and the interpreter that runs it."""

    label: str
    repo: Path
    python: str


def password_hash_env(target: Target, member_id: str, password: str) -> dict:
    """PASSWORD_HASH_<ID>=..., as the target's `files-server member ID` prints it."""
    out = subprocess.run(
        [target.python, "-m", "app", "member", member_id, "--password-stdin"],
        input=password, capture_output=True, text=True, check=True, cwd=str(target.repo),
        env={**os.environ, "PYTHONPATH": str(target.repo)},
    ).stdout.strip()
    name, value = out.split("=", 1)
    return {name: value.strip("'")}


class Server(ServerProcess):
    """The target's application over ``data_dir``; restartable on the same port."""

    ready_path = "/-/health"

    def __init__(self, target: Target, data_dir: Path, hashes: dict,
                 config_path: Optional[Path] = None):
        data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(data_dir.parent / "server.log", cwd=target.repo)
        self.target, self.data_dir, self.config_path = target, data_dir, config_path
        self.hashes = dict(hashes)

    def command(self) -> list[str]:
        return [self.target.python, "-m", "app", "serve"]

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k != "DATASETTE_SECRET" and not k.startswith("PASSWORD_HASH_")}
        env.update(self.hashes, DATA_DIR=str(self.data_dir), PORT=str(self.port),
                   PYTHONPATH=str(self.target.repo))
        if self.config_path:
            env["CONFIG_PATH"] = str(self.config_path)
        return env

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process and self.process.poll() is None else None

    def kill9(self) -> None:
        """SIGKILL the server and, by pid, every process it started."""
        pid = self.pid
        if pid is None:
            return
        family = descendants(pid)
        for each in [pid, *family]:
            try:
                os.kill(each, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        self._log.close()

    def tracebacks(self) -> int:
        return self.log().count("Traceback (most recent call last)")


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    except OSError:
        pass  # it ended meanwhile
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (thumbnail workers, the fork server...)."""
    found, queue = [], [pid]
    while queue:
        below = children(queue.pop())
        found += below
        queue += below
    return found


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def fd_count(pid: Optional[int]) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/fd")) if pid else None
    except OSError:
        return None


class Sampler(threading.Thread):
    """Resident memory of the server and of its descendants, every ``interval``
    seconds, as (monotonic time, server KiB, descendants' KiB, descendants).
    Follows the server across restarts (reads its current pid each time)."""

    def __init__(self, server: Server, interval: float = 0.05):
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.samples: list[tuple[float, int, int, int]] = []
        self.running = True

    def sample(self) -> tuple[float, int, int, int]:
        pid = self.server.pid
        if pid is None:
            return time.monotonic(), 0, 0, 0
        family = descendants(pid)
        return time.monotonic(), rss_kib(pid), sum(map(rss_kib, family)), len(family)

    def run(self) -> None:
        while self.running:
            self.samples.append(self.sample())
            time.sleep(self.interval)

    def stop(self) -> None:
        self.running = False
        self.join(2)

    def window(self, start: float = 0, end: float = float("inf")) -> dict:
        """Peaks (MiB) between two monotonic times: server, descendants, both together."""
        inside = [s for s in self.samples if start <= s[0] <= end and s[1]]
        if not inside:  # shorter than the sampling interval
            return self.before(end)
        return {"server": max(s[1] for s in inside) / KIB,
                "workers": max(s[2] for s in inside) / KIB,
                "total": max(s[1] + s[2] for s in inside) / KIB}

    def before(self, moment: float) -> dict:
        """The last sample at or before ``moment`` (MiB)."""
        earlier = [s for s in self.samples if s[0] <= moment and s[1]] or self.samples[:1]
        if not earlier:
            return {"server": None, "workers": None, "total": None}
        s = earlier[-1]
        return {"server": s[1] / KIB, "workers": s[2] / KIB, "total": (s[1] + s[2]) / KIB}


def login(url: str, username: str, password: str, local_address: Optional[str] = None) -> dict:
    """The session cookies of a login through the form, or {} if it did not log in."""
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    with httpx.Client(base_url=url, timeout=60, transport=transport) as client:
        response = client.post("/-/login", data={"username": username, "password": password})
    return dict(response.cookies) if response.status_code in (301, 302, 303) else {}


def _bystand(url: str, cookies: dict, file_path: str, ready, stop, conn) -> None:
    """A member's browser: download a small file (kept-alive connection), then a
    health check on a new connection, as a load balancer's, until ``stop``."""
    samples = []
    with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
        ready.set()
        while not stop.is_set():
            for path in (file_path, "/-/health"):
                started = time.perf_counter()
                try:
                    if path == file_path:
                        status = client.get(path).status_code
                    else:
                        status = httpx.get(url + path, timeout=30).status_code
                except httpx.HTTPError as ex:
                    status = type(ex).__name__
                samples.append((path, (time.perf_counter() - started) * 1000, status))
            stop.wait(0.05)
    conn.send(samples)
    conn.close()


class Bystander:
    """_bystand in its own process, so the attack's own CPU use in this process
    (a 500 MB request body, thousands of sockets) does not delay it."""

    def __init__(self, url: str, cookies: dict, file_path: str):
        context = multiprocessing.get_context("spawn")
        self.ready, self.stop_event = context.Event(), context.Event()
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_bystand, daemon=True,
            args=(url, cookies, file_path, self.ready, self.stop_event, sender))
        self.samples: list = []

    def start(self) -> "Bystander":
        self.process.start()
        self.ready.wait(30)
        return self

    def stop(self) -> list:
        self.stop_event.set()
        if self.receiver.poll(45):
            self.samples = self.receiver.recv()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        return self.samples


def latency_summary(samples: list) -> dict:
    """p50, p95, max (ms) over the bystander's requests; its 5xx and failures."""
    times = sorted(ms for _, ms, _ in samples)
    if not times:
        return {"n": 0, "p50": None, "p95": None, "max": None, "5xx": 0, "failed": 0}
    statuses = [status for _, _, status in samples]
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max": times[-1],
        "5xx": sum(1 for s in statuses if isinstance(s, int) and s >= 500),
        "failed": sum(1 for s in statuses if s != 200),
        "health_failed": sum(1 for path, _, s in samples if path == "/-/health" and s != 200),
    }


@dataclass
class Ctx:
    """What an attack gets: the running server, the bystander's login and file,
    and somewhere to record every status its own requests got."""

    server: Server
    sampler: Sampler
    args: object
    member_cookies: dict
    member_file: dict
    statuses: list = field(default_factory=list)
    details: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    # Set when the attack stops or restarts the server: the bystander saw the gap.
    restarted: bool = False

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, cookies: Optional[dict] = None, local_address: Optional[str] = None,
               connections: int = 100, timeout: float = 120) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(
            local_address=local_address,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))
        return httpx.AsyncClient(base_url=self.url, cookies=cookies or {}, timeout=timeout,
                                 transport=transport)

    def saw(self, response_or_error) -> Optional[int]:
        """Record a response's status (or an error's name); return the status."""
        if isinstance(response_or_error, httpx.Response):
            self.statuses.append(response_or_error.status_code)
            return response_or_error.status_code
        self.statuses.append(type(response_or_error).__name__)
        return None

    def restart(self, kill: bool = False, **hashes) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start again on the same port."""
        self.restarted = True
        if kill:
            self.server.kill9()
        else:
            self.server.stop()
        self.server.hashes.update(hashes)
        self.server.start(timeout=120)
