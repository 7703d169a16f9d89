import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.server import (  # noqa: E402
    DatasetteServer, assert_no_server_errors, source_config)

from support.config import MEMSTORE, OPEN_PERMISSIONS  # noqa: E402
from support.venvs import install_in_background, stop_background_installs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_venv(name, requirements, inputs=()): the test uses "
        "support.venvs.ensure_venv(name, requirements, inputs); it is installed in the "
        "background from the start of the run")


def pytest_collection_finish(session):
    # On a clean clone (as CI) these installs took about 90 s of the run, serially.
    if session.config.option.collectonly:
        return
    for item in session.items:
        for mark in item.iter_markers("needs_venv"):
            install_in_background(*mark.args)


def pytest_sessionfinish(session):
    stop_background_installs()


@pytest.fixture
def make_server(tmp_path):
    """Start servers with their own data directory; all are stopped afterwards."""
    servers = []

    def make(config: dict, data_dir: Path = None, **kwargs) -> DatasetteServer:
        server = DatasetteServer(data_dir or tmp_path / f"server{len(servers)}", config, **kwargs)
        server.data_dir.mkdir(parents=True, exist_ok=True)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
        assert_no_server_errors(server)


@pytest.fixture
def src(pool):
    """The test's own sources on its module's shared server (the module's
    ``pool`` fixture makes a support.pool.SourcePool)."""
    return pool.take()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A server where everyone may do everything, with two sources."""
    data = tmp_path_factory.mktemp("open")
    server = DatasetteServer(
        data,
        {
            "permissions": OPEN_PERMISSIONS,
            "plugins": {
                "datasette-files": {
                    "sources": {
                        "one": source_config(data / "one"),
                        "two": source_config(data / "two", max_file_size=1000),
                    }
                }
            },
        },
    )
    server.start()
    yield server
    server.stop()
    assert_no_server_errors(server)


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs here ({result.stderr.strip()})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB filesystem, to fill up for real."""
    path = tmp_path / "tiny"
    _mount_tmpfs(path, "size=2m")
    yield path
    subprocess.run(["umount", "-l", str(path)])


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory that even root cannot write to: a read-only mount."""
    path = tmp_path / "readonly"
    _mount_tmpfs(path, "size=1m,ro")
    yield path
    subprocess.run(["umount", "-l", str(path)])


def _install_test_plugin(name: str, target: Path) -> Path:
    """A plugin from tests/plugins, installed with pip into its own directory
    (put it on a server's PYTHONPATH); our code never imports it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(MEMSTORE.parent / name)],
        check=True,
    )
    return target


@pytest.fixture(scope="session")
def memstore_site(tmp_path_factory):
    return _install_test_plugin("datasette-files-memstore", tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def testthumbs_site(tmp_path_factory):
    return _install_test_plugin("datasette-files-testthumbs", tmp_path_factory.mktemp("site"))
