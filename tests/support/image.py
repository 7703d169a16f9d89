"""Building the application's Docker image from our Dockerfile, here.

This machine reaches package indexes but no image registry, and its TLS is
intercepted, so: the base image is made with debootstrap when python:3.12-slim
cannot be had, and the wheels are built on the host into ./wheelhouse, which
the Dockerfile uses when `--build-arg WHEELHOUSE=wheelhouse` asks it to; the
folder is removed after the build. A normal machine builds with a plain
`docker build .` and needs none of this.

    python tests/support/image.py     # build (or reuse) the base and the image
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LOCAL_BASE = "local/debian-python:bookworm"
OFFICIAL_BASE = "python:3.12-slim"
IMAGE_TAG = "datasette-files-server:test"


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _debian_mirror() -> str:
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "debian" in line and "security" not in line:
                return line.split()[1]
            if line.startswith("deb ") and "debian" in line and "security" not in line:
                return line.split()[1]
    return "http://deb.debian.org/debian"


def ensure_base_image() -> str:
    """The base image to build on: $BASE_IMAGE, the official one if present,
    else a Debian bookworm + python3 image made with debootstrap (cached)."""
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    for tag in (OFFICIAL_BASE, LOCAL_BASE):
        if _image_exists(tag):
            return tag
    with tempfile.TemporaryDirectory(prefix="rootfs-") as rootfs:
        subprocess.run(
            ["debootstrap", "--variant=minbase",
             "--include=python3,python3-venv,python3-pip,ca-certificates",
             "bookworm", rootfs, _debian_mirror()],
            check=True, stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(
            ["tar", "-C", rootfs, "--exclude=./var/cache/apt/archives/*.deb",
             "--exclude=./var/lib/apt/lists/*", "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "--change", 'CMD ["/bin/bash"]',
             "--change", "ENV LANG=C.UTF-8", "-", LOCAL_BASE],
            stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.wait()
    return LOCAL_BASE


def build_wheelhouse() -> Path:
    """Wheels for our two distributions and every dependency, built on the host."""
    wheelhouse = REPO_ROOT / "wheelhouse"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    # setuptools builds in the tree and keeps what it copied there: a module
    # deleted since the last build would otherwise ship in the wheel.
    for build in (REPO_ROOT / "build", REPO_ROOT / "plugins" / "datasette-files" / "build"):
        shutil.rmtree(build, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheelhouse),
         str(REPO_ROOT / "plugins" / "datasette-files"), str(REPO_ROOT)],
        check=True,
    )
    return wheelhouse


def build_image(tag: str = IMAGE_TAG) -> str:
    base = ensure_base_image()
    wheelhouse = build_wheelhouse()
    try:
        subprocess.run(
            ["docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={base}",
             "--build-arg", f"WHEELHOUSE={wheelhouse.name}", "--tag", tag, str(REPO_ROOT)],
            check=True, stdout=subprocess.DEVNULL,
        )
    finally:
        # Left behind, it would only be noise: builds use it only when asked.
        shutil.rmtree(wheelhouse, ignore_errors=True)
    # The build stage is left dangling; remove it so repeated builds do not pile up.
    subprocess.run(["docker", "image", "prune", "--force", "--filter", "dangling=true"],
                   capture_output=True)
    return tag


if __name__ == "__main__":
    print(build_image())
