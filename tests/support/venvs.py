"""Scratch virtualenvs for software that is not ours (the published datasette-files
and datasette-files-s3, copyparty...), installed from the package index once and
reused while what they install is the same: the key is the interpreter's version,
the requirements (pip arguments) and the contents of ``inputs`` (say, the
pyproject.toml of a checkout installed editable)."""

from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import venv
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# Under bench/ (gitignored), shared by the benchmarks and the tests.
PEERS_DIR = REPO_ROOT / "bench" / ".peers"
UPSTREAM_REQUIREMENTS = ["datasette==1.0a41", "datasette-files==0.1a3"]
OUR_PLUGIN = REPO_ROOT / "plugins" / "datasette-files"
T = TypeVar("T")


class VenvUnavailable(Exception):
    """What a virtualenv needs could not be installed (no package index, a failed install)."""


def venv_key(requirements: Sequence[str], inputs: Sequence[Path] = ()) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for requirement in requirements:
        digest.update(b"\0" + requirement.encode())
    for path in inputs:
        digest.update(b"\0" + path.read_bytes())
    return digest.hexdigest()


# Installs started by install_in_background, one at a time (two cores), by name.
_installer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="venv")
_pending: dict[str, concurrent.futures.Future] = {}
_pips: set[subprocess.Popen] = set()
_pips_lock = threading.Lock()
_stopping = threading.Event()


def ensure_venv(name: str, requirements: Sequence[str], inputs: Sequence[Path] = ()) -> Path:
    """The bin directory of a virtualenv under bench/.peers with these
    requirements; created and installed only when its key changed. An install
    of it started in the background is waited for (and redone if it failed)."""
    pending = _pending.get(name)
    if pending is not None:
        concurrent.futures.wait([pending])
    return _install(name, requirements, inputs)


def install_in_background(name: str, requirements: Sequence[str],
                          inputs: Sequence[Path] = ()) -> None:
    """Start ensure_venv(name, ...) in a thread: a test run overlaps the install
    (a minute for some, on a clean clone) with the tests before the one needing it."""
    if name not in _pending:
        _pending[name] = _installer.submit(_install, name, requirements, inputs)


def stop_background_installs() -> None:
    """Cancel the installs not started and end the running one (it is redone next time)."""
    for future in _pending.values():
        future.cancel()
    with _pips_lock:
        _stopping.set()
        for pip in _pips:
            pip.kill()
    _installer.shutdown(wait=True)


def _install(name: str, requirements: Sequence[str], inputs: Sequence[Path]) -> Path:
    # Test processes running side by side (pytest-xdist) each start the installs
    # their tests need: one installs, the others wait and find it done.
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    with open(PEERS_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_locked(name, requirements, inputs)


def _install_locked(name: str, requirements: Sequence[str], inputs: Sequence[Path]) -> Path:
    home = PEERS_DIR / name
    stamp = home / ".installed-key"
    key = venv_key(requirements, inputs)
    if stamp.exists() and stamp.read_text() == key:
        return home / "bin"
    print(f"installing {' '.join(requirements)} in {home}", file=sys.stderr, flush=True)
    venv.create(home, with_pip=True, clear=True)
    with _pips_lock:
        if _stopping.is_set():
            raise VenvUnavailable("the test run ended")
        pip = subprocess.Popen(
            [str(home / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
             *requirements],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PIP_NO_INPUT": "1"})
        _pips.add(pip)
    try:
        _, stderr = pip.communicate()
    finally:
        with _pips_lock:
            _pips.discard(pip)
    if pip.returncode != 0:
        raise VenvUnavailable(f"pip install {' '.join(requirements)} failed:\n"
                              f"{stderr[-3000:]}")
    stamp.write_text(key)  # last: an interrupted install is redone
    return home / "bin"


def with_our_plugin(requirements: Sequence[str]) -> list[str]:
    """``requirements`` beside this checkout's datasette-files, installed editable
    so its code is always the checkout's."""
    return ["-e", str(OUR_PLUGIN), *requirements]


def our_plugin_inputs() -> list[Path]:
    """What an editable install of our plugin depends on beyond its code."""
    return [OUR_PLUGIN / "pyproject.toml"]


def unpacked_sdist(name: str, requirement: str) -> Path:
    """The source distribution of ``requirement`` (pinned: it is kept as long as
    virtualenv ``name`` is), downloaded with that virtualenv's pip and unpacked
    in it; its top directory."""
    home = PEERS_DIR / name
    target = home / "sdist"
    if not target.exists():
        download = home / "sdist-download"
        shutil.rmtree(download, ignore_errors=True)
        result = subprocess.run(
            [str(home / "bin" / "pip"), "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-binary", ":all:", "-d", str(download), requirement],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise VenvUnavailable(f"pip download {requirement} failed:\n{result.stderr[-3000:]}")
        [archive] = download.glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(download / "unpacked", filter="data")
        (download / "unpacked").rename(target)  # last: an interrupted download is redone
    [top] = target.iterdir()
    return top


def required(prepare: Callable[[], T]) -> T:
    """``prepare()`` (say, an ``ensure_venv``) for a test: when the package index
    cannot give what it needs, the test fails with REQUIRE_PYPI=1 (as CI sets)
    and is skipped otherwise."""
    try:
        return prepare()
    except (VenvUnavailable, OSError) as ex:
        reason = f"cannot install from the package index: {ex}"
        if os.environ.get("REQUIRE_PYPI") == "1":
            pytest.fail(f"REQUIRE_PYPI=1 but {reason}")
        pytest.skip(reason)
