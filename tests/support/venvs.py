"""Virtualenvs for software run beside ours (published plugins, benchmark peers),
installed from the package index once and reused while what they install is the
same: the key is the interpreter's version, the requirements and the contents of
``inputs`` (say, the pyproject.toml of a checkout installed editable)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# Ignored by git, beside the benchmark peers' virtualenvs.
VENVS_DIR = REPO_ROOT / "bench" / ".peers"
OUR_PLUGIN = REPO_ROOT / "plugins" / "datasette-files"
T = TypeVar("T")


class VenvUnavailable(Exception):
    """A virtualenv could not be installed (no package index, a failed install)."""


def venv_key(requirements: Sequence[str], inputs: Sequence[Path] = ()) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for requirement in requirements:
        digest.update(b"\0" + requirement.encode())
    for path in inputs:
        digest.update(b"\0" + path.read_bytes())
    return digest.hexdigest()


def ensure_venv(home: Path, requirements: Sequence[str], inputs: Sequence[Path] = ()) -> Path:
    """The bin directory of a virtualenv at ``home`` with these requirements
    (pip arguments), installed unless it already has them."""
    stamp = home / ".installed-key"
    key = venv_key(requirements, inputs)
    if stamp.exists() and stamp.read_text() == key:
        return home / "bin"
    print(f"installing {' '.join(requirements)} in {home}", file=sys.stderr, flush=True)
    venv.create(home, with_pip=True, clear=True)
    result = subprocess.run(
        [str(home / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         *requirements],
        capture_output=True, text=True, env={**os.environ, "PIP_NO_INPUT": "1"})
    if result.returncode != 0:
        raise VenvUnavailable(f"pip install {' '.join(requirements)} failed:\n"
                              f"{result.stderr[-3000:]}")
    stamp.write_text(key)  # last: an interrupted install is redone
    return home / "bin"


def with_our_plugin(requirements: Sequence[str]) -> list[str]:
    """``requirements`` beside this checkout's datasette-files, installed editable
    so its code is always the checkout's."""
    return ["-e", str(OUR_PLUGIN), *requirements]


def our_plugin_inputs() -> list[Path]:
    """What an editable install of our plugin depends on beyond its code."""
    return [OUR_PLUGIN / "pyproject.toml"]


def unpacked_sdist(home: Path, requirement: str, pip: Path) -> Path:
    """The source distribution of ``requirement`` (pinned: it is kept while
    ``home`` is), downloaded with ``pip`` and unpacked under ``home``; its top
    directory."""
    target = home / "sdist"
    if not target.exists():
        download = home / "sdist-download"
        shutil.rmtree(download, ignore_errors=True)
        result = subprocess.run(
            [str(pip), "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-binary", ":all:", "-d", str(download), requirement],
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
