"""Scratch virtualenvs for servers that are not ours (the published
datasette-files, copyparty...), installed from the package index once and
reused while their requirements stay the same."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

# Under bench/ (gitignored), shared by the benchmarks and the tests.
PEERS_DIR = Path(__file__).resolve().parent.parent.parent / "bench" / ".peers"
UPSTREAM_REQUIREMENTS = ["datasette==1.0a41", "datasette-files==0.1a3"]


def ensure_venv(name: str, requirements: list[str]) -> Path:
    """The bin directory of a virtualenv under bench/.peers with exactly these
    requirements; created and installed only when they changed."""
    home = PEERS_DIR / name
    stamp = home / "requirements.txt"
    if not stamp.exists() or stamp.read_text() != "\n".join(requirements):
        venv.create(home, with_pip=True, clear=True)
        print(f"installing {' '.join(requirements)} in {home}", flush=True)
        subprocess.run([str(home / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", *requirements], check=True,
                       stderr=subprocess.DEVNULL)
        # Written last: an interrupted install is redone next time.
        stamp.write_text("\n".join(requirements))
    return home / "bin"
