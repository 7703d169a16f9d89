#!/usr/bin/env python3
"""One entry point for working on this project; needs only Python 3.10+.

    python3 dev.py serve   # set up .venv if needed, then run the server
    python3 dev.py token   # print an API token for the root user
    python3 dev.py test    # set up .venv if needed, then run every test

The virtualenv is (re)installed only when a pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
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


def data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR", ROOT / "data")).resolve()


def server_env() -> dict:
    """Source roots and a persistent signing secret under the data directory."""
    data = data_dir()
    (data / "internal").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("FILES_TEAM_ROOT", str(data / "files" / "team"))
    env.setdefault("FILES_ARCHIVE_ROOT", str(data / "files" / "archive"))
    if "DATASETTE_SECRET" not in env:
        secret_file = data / "internal" / "secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
            secret_file.chmod(0o600)
        env["DATASETTE_SECRET"] = secret_file.read_text().strip()
    return env


def serve(args: list[str]) -> int:
    env = server_env()
    command = [
        str(BIN / "datasette"), "serve",
        "--config", str(ROOT / "config" / "datasette.yaml"),
        "--internal", str(data_dir() / "internal" / "internal.db"),
        "--root",
        "--port", os.environ.get("PORT", "8001"),
        *args,
    ]
    return subprocess.call(command, env=env)


def token(args: list[str]) -> int:
    actor = args[0] if args else "root"
    return subprocess.call(
        [str(BIN / "datasette"), "create-token", actor, *args[1:]], env=server_env()
    )


def test(args: list[str]) -> int:
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


COMMANDS = {"serve": serve, "token": token, "test": test}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_venv()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
