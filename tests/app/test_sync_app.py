"""Sync from the command line, and an unhealthy source in /-/health."""

import time

import yaml

from support.server import REPO_ROOT
from test_operations import run_cli

PRESET = REPO_ROOT / "config" / "datasette.yaml"


def share_config(tmp_path, root):
    config = yaml.safe_load(PRESET.read_text())
    config["plugins"]["datasette-files"]["sources"]["share"] = {
        "storage": "filesystem", "read_only": True, "config": {"root": str(root)}}
    path = tmp_path / "datasette.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_sync_command_and_health(make_app, tmp_path):
    root = tmp_path / "share"
    (root / "minutes").mkdir(parents=True)
    (root / "minutes" / "2026-01.txt").write_text("January")
    path = share_config(tmp_path, root)
    env = {"DATA_DIR": str(tmp_path / "data"), "CONFIG_PATH": str(path)}
    first = run_cli("sync", "share", env=env)
    assert first.returncode == 0, first.stderr
    assert b"share: done: found 1, added 1" in first.stdout
    again = run_cli("sync", "share", env=env)
    assert b"share: done: found 1, added 0" in again.stdout

    # The first command to touch the data directory created the admin login.
    password = next(line.split(b":", 1)[1].strip().decode()
                    for line in first.stdout.splitlines() if line.strip().startswith(b"password:"))
    server = make_app(config_path=path)
    with server.login("admin", password) as admin:
        found = admin.get("/-/files/search.json", params={"q": "minutes"}).json()["files"]
        assert [f["filename"] for f in found] == ["2026-01.txt"]
        root.rename(tmp_path / "unmounted")
        assert admin.post("/-/files/sync/share").status_code == 202
        deadline = time.monotonic() + 60  # the sync runs in the background
        while True:
            health = admin.get("/-/health")  # only admins see why
            if health.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert health.status_code == 503
    # Whichever notices first, the storage's own check or the sync, says why.
    assert any(e.startswith("source:share: ") and "cannot be read" in e
               for e in health.json()["errors"]), health.json()
