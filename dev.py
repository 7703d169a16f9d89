#!/usr/bin/env python3
"""One entry point for working on this project; needs only Python 3.10+.

    python3 dev.py serve          # set up .venv if needed, then run the server
    python3 dev.py test           # set up .venv if needed, then run every test (in parallel)
    python3 dev.py cli ARGS...    # another files-server command (token, member, backup...)

The virtualenv is (re)installed only when a pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".dev-stamp"
INSTALL_INPUTS = [ROOT / "pyproject.toml", ROOT / "plugins/datasette-files/pyproject.toml"]


def ensure_venv() -> None:
    """Create .venv and install both distributions, editable, with test extras."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in INSTALL_INPUTS)).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", file=sys.stderr, flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing dependencies into .venv ...", file=sys.stderr, flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
    )
    subprocess.run(
        [
            str(PYTHON), "-m", "pip", "install", "--quiet",
            "-e", str(ROOT / "plugins/datasette-files"),
            "-e", f"{ROOT}[test]",
        ],
        check=True,
    )
    STAMP.write_text(digest)


def cli(args: list[str]) -> int:
    """A files-server command, with the data in ./data unless DATA_DIR is set."""
    env = {"DATA_DIR": str(ROOT / "data"), **os.environ}
    return subprocess.call([str(BIN / "files-server"), *args], env=env)


def serve(args: list[str]) -> int:
    return cli(["serve", *args])


def test(args: list[str]) -> int:
    """Every test, a process per core (at most 4: the tests start servers and
    browsers of their own), each test module whole in one process (its
    server is shared by its tests); with arguments, pytest with those alone."""
    if not args:
        workers = min(os.cpu_count() or 1, 4)
        args = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


COMMANDS = {"serve": serve, "cli": cli, "test": test}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_venv()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
