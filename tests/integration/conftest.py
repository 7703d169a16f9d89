"""Containers from the image built from our Dockerfile (testcontainers, no Ryuk)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import httpx
import pytest

from support.image import build_image, docker_available

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
PORT = 8001


@pytest.fixture(scope="session")
def image():
    if not docker_available():
        reason = "no Docker daemon answers (`docker info` failed)"
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)
    return build_image()


class RunningContainer:
    """One container of the image, reachable on a loopback port."""

    def __init__(self, image: str, volume: str, env: dict | None = None,
                 mounts: dict | None = None):
        from testcontainers.core.container import DockerContainer

        self.container = DockerContainer(image).with_exposed_ports(PORT)
        self.container.with_volume_mapping(volume, "/data", "rw")
        for host_path, container_path in (mounts or {}).items():
            self.container.with_volume_mapping(str(host_path), container_path, "ro")
        for key, value in (env or {}).items():
            self.container.with_env(key, value)

    def start(self, timeout: float = 60) -> "RunningContainer":
        self.started_at = time.monotonic()
        self.container.start()
        self.url = f"http://127.0.0.1:{self.container.get_exposed_port(PORT)}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/-/health", timeout=2).status_code == 200:
                    self.seconds_to_healthy = time.monotonic() - self.started_at
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"container not healthy in {timeout}s:\n{self.logs()}")

    def seconds_until_docker_says_healthy(self, timeout: float = 90) -> float:
        """Seconds from start until Docker's HEALTHCHECK reports "healthy"."""
        container_id = self.container.get_wrapped_container().id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = subprocess.run(
                ["docker", "inspect", "--format", "{{.State.Health.Status}}", container_id],
                capture_output=True, text=True).stdout.strip()
            if status == "healthy":
                return time.monotonic() - self.started_at
            time.sleep(0.2)
        raise AssertionError(f"Docker never said healthy (last: {status})")

    def stop(self) -> None:
        self.container.stop()

    def logs(self) -> str:
        out, err = self.container.get_logs()
        return (out + err).decode(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10) -> str:
        """The logs once they contain `text`: Docker collects output asynchronously."""
        deadline = time.monotonic() + timeout
        while text not in (logs := self.logs()) and time.monotonic() < deadline:
            time.sleep(0.2)
        return logs

    def admin_password(self) -> str:
        logs = self.wait_for_log("password: ")
        match = re.search(r"password: (\S+)", logs)
        assert match, logs
        return match.group(1)

    def login(self, username: str, password: str) -> httpx.Client:
        response = httpx.post(self.url + "/-/login",
                              data={"username": username, "password": password})
        assert response.status_code == 302, response.text[-300:]
        return httpx.Client(base_url=self.url, cookies=response.cookies, timeout=60)

    def exec(self, command: str) -> str:
        result = self.container.exec(command)
        return result.output.decode().strip()


@pytest.fixture
def volume():
    name = f"files-test-{uuid.uuid4().hex[:10]}"
    subprocess.run(["docker", "volume", "create", name], check=True, capture_output=True)
    yield name
    subprocess.run(["docker", "volume", "rm", "-f", name], capture_output=True)


@pytest.fixture
def run_container(image, volume):
    """Start containers on the test's volume; all are stopped and removed afterwards."""
    started = []

    def run(env=None, mounts=None, on_volume=None) -> RunningContainer:
        container = RunningContainer(image, on_volume or volume, env=env, mounts=mounts).start()
        started.append(container)
        return container

    yield run
    for container in started:
        try:
            container.stop()
        except Exception:
            pass
