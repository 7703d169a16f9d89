"""Operating the server: health, editing the config, backup and restore, shutdown, check."""

import concurrent.futures
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
import yaml
from ulid import ULID

from support import api
from support.server import REPO_ROOT, AppServer

PRESET = REPO_ROOT / "config" / "datasette.yaml"


def edited_preset(tmp_path, edit):
    config = yaml.safe_load(PRESET.read_text())
    edit(config)
    path = tmp_path / "datasette.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_security_headers_on_every_response(make_app):
    server = make_app()
    for path in ("/-/health", "/", "/-/login", "/-/files/sources.json", "/nowhere"):
        headers = httpx.get(server.url + path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path


def test_every_request_gets_one_access_log_line(make_app):
    server = make_app()
    httpx.get(server.url + "/-/health?probe=1")
    httpx.get(server.url + "/nowhere")
    # The line is written just after the response has gone out.
    for _ in range(50):
        lines = server.log().splitlines()
        if any("/nowhere" in line for line in lines):
            break
        time.sleep(0.1)
    # uvicorn's own format, written once per request (by the app, after the response).
    assert sum('"GET /-/health?probe=1 HTTP/1.1" 200' in line for line in lines) == 1
    assert sum('"GET /nowhere HTTP/1.1" 404' in line for line in lines) == 1
    assert any(line.startswith("INFO:") and "127.0.0.1:" in line and "/nowhere" in line
               for line in lines)


def test_adding_a_source_to_the_config_and_restarting(make_app, tmp_path):
    path = tmp_path / "datasette.yaml"
    path.write_text(PRESET.read_text())
    server = make_app(config_path=path)
    password = server.generated_admin_password()
    server.stop()
    # What a user does: add an entry beside the others, restart.
    path.write_text(PRESET.read_text().replace(
        "      # To add a source",
        "      scans:\n        storage: filesystem\n        config:\n          root: files/scans\n"
        "      # To add a source"))
    server.start()
    with server.login("admin", password) as admin:
        slugs = [s["slug"] for s in admin.get("/-/files/sources.json").json()["sources"]]
        assert slugs == ["team", "archive", "scans"]
        file = api.upload(admin, "scans", "scan-001.pdf", b"%PDF-1.7")
        assert admin.get(file["download_url"]).content == b"%PDF-1.7"
    assert (server.data_dir / "files" / "scans").is_dir()


def test_a_duplicated_source_in_the_config_stops_start_up(tmp_path):
    path = tmp_path / "datasette.yaml"
    path.write_text(PRESET.read_text().replace(
        "      archive:", "      team:\n        storage: filesystem\n      archive:"))
    result = subprocess.run([sys.executable, "-m", "app", "serve"], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=60,
                            env={"DATA_DIR": str(tmp_path / "d"), "CONFIG_PATH": str(path),
                                 "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert "duplicate key 'team' at line" in result.stderr


def run_cli(*args, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True,
                          cwd=REPO_ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", **env},
                          input=stdin)


def test_backup_while_running_and_restore(make_app, tmp_path):
    server = make_app("original")
    password = server.generated_admin_password()
    with server.login("admin", password) as admin:
        kept = api.upload(admin, "team", "kept-otter.txt", b"kept")
        admin.post(f"/-/files/{kept['id']}/-/update", json={"update": {"search_text": "river"}})
        api.upload(admin, "archive", "old.bin", bytes(range(256)) * 1000)
        # Backup while the server runs, to standard output.
        backup = run_cli("backup", "-", env={"DATA_DIR": str(server.data_dir)})
        assert backup.returncode == 0, backup.stderr
        assert b"backup: 2 databases, 2 files" in backup.stderr
        after = api.upload(admin, "team", "after-backup.txt", b"later")
    archive = tmp_path / "backup.tar"
    archive.write_bytes(backup.stdout)
    server.stop()

    restored_dir = tmp_path / "restored"
    result = run_cli("restore", str(archive), env={"DATA_DIR": str(restored_dir)})
    assert result.returncode == 0, result.stderr
    # Restoring over data is refused.
    refused = run_cli("restore", str(archive), env={"DATA_DIR": str(restored_dir)})
    assert refused.returncode == 1 and b"is not empty" in refused.stderr

    restored = AppServer(restored_dir).start()
    try:
        assert "No admin login was configured" not in restored.log()
        with restored.login("admin", password) as admin:
            assert admin.get(kept["download_url"]).content == b"kept"
            assert [f["id"] for f in admin.get("/-/files/search.json?q=river").json()["files"]] \
                == [kept["id"]]
            assert admin.get(after["download_url"]).status_code == 404
            assert admin.get("/-/files/search.json").json()["total"] == 2
    finally:
        restored.stop()


def test_a_restore_staged_for_the_next_start_replaces_a_running_servers_data(
        make_app, tmp_path):
    """On a Fly volume the server's data dir is never empty (the running server
    made it): the backup is staged beside it and swapped in at the next start."""
    original = make_app("original")
    password = original.generated_admin_password()
    with original.login("admin", password) as admin:
        kept = api.upload(admin, "team", "kept-otter.txt", b"kept")
    archive = tmp_path / "backup.tar"
    assert run_cli("backup", str(archive), env={"DATA_DIR": str(original.data_dir)}) \
        .returncode == 0
    original.stop()

    running = make_app("running")
    with running.login("admin", running.generated_admin_password()) as admin:
        replaced = api.upload(admin, "team", "replaced.txt", b"replaced")
        env = {"DATA_DIR": str(running.data_dir)}
        staged = run_cli("restore", "--next-start", str(archive), env=env)
        assert staged.returncode == 0, staged.stderr
        assert b"the next start of the server swaps it in" in staged.stderr
        again = run_cli("restore", "--next-start", str(archive), env=env)
        assert again.returncode == 1 and b"already staged" in again.stderr
        # Untouched while it runs.
        assert admin.get(replaced["download_url"]).content == b"replaced"

    running.restart()
    assert "swapped in the restore staged" in running.log()
    with running.login("admin", password) as admin:
        assert admin.get(kept["download_url"]).content == b"kept"
        assert admin.get(replaced["download_url"]).status_code == 404
    before = [p for p in running.data_dir.iterdir() if p.name.startswith(".before-restore-")]
    assert len(before) == 1
    assert (before[0] / "files" / "team").is_dir()
    assert not (running.data_dir / ".restore-next").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root restores files it must hand over")
def test_a_restore_run_as_root_belongs_to_the_servers_user(make_app, tmp_path):
    """`fly ssh console` runs commands as root; the server runs as uid 10001."""
    server = make_app("original")
    archive = tmp_path / "backup.tar"
    assert run_cli("backup", str(archive), env={"DATA_DIR": str(server.data_dir)}) \
        .returncode == 0
    volume = tmp_path / "volume"
    volume.mkdir()
    os.chown(volume, 10001, 10001)
    restored = volume / "data"
    assert run_cli("restore", str(archive), env={"DATA_DIR": str(restored)}).returncode == 0
    owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [restored, *restored.rglob("*")]}
    assert owners == {(10001, 10001)}


def files_of(client):
    return client.get("/-/files/search.json", params={"limit": 500}).json()["files"]


def wait_until_synced_and_hashed(client, slugs=("team", "archive")):
    for _ in range(600):
        statuses = [client.get(f"/-/files/sync/{slug}.json").json() for slug in slugs]
        if all(s["sync"]["state"] == "done" and not s["running"] and not s["hashing_pending"]
               for s in statuses):
            return
        time.sleep(0.1)
    raise AssertionError(statuses)


def assert_every_file_matches_its_hash(client):
    for file in files_of(client):
        content = client.get(file["download_url"]).content
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest(), file


def backup_and_restore(server, tmp_path, name="restored"):
    """A backup of ``server``'s data directory, restored into a new one; the
    backup's report and the restored data directory."""
    backup = run_cli("backup", "-", env={"DATA_DIR": str(server.data_dir)})
    assert backup.returncode == 0, backup.stderr
    archive = tmp_path / f"{name}.tar"
    archive.write_bytes(backup.stdout)
    restored_dir = tmp_path / name
    result = run_cli("restore", str(archive), env={"DATA_DIR": str(restored_dir)})
    assert result.returncode == 0, result.stderr
    return backup.stderr.decode(), restored_dir


def test_a_backup_agrees_with_its_registry_snapshot(make_app, tmp_path):
    """Files with no row in the snapshot: one we stored before it (its row lost,
    or committed just after the snapshot) comes back as itself, name and owner
    included; one whose upload began after it is left out; a file placed by
    hand is copied as a share's are."""
    server = make_app("original")
    password = server.generated_admin_password()
    with server.login("admin", password) as admin:
        menu = admin.put("/-/files/upload/team/Café menu ü.pdf", content=b"%PDF menu")
        menu = menu.json()["file"]
        kept = api.upload(admin, "team", "kept.txt", b"kept")
    server.stop()
    db = sqlite3.connect(server.internal_db)
    db.execute("DELETE FROM datasette_files_files WHERE id = ?", [menu["id"]])
    db.commit()
    db.close()
    team = server.data_dir / "files" / "team"
    later = f"df-{str(ULID.from_timestamp(time.time() + 3600)).lower()}-later.bin"
    (team / later).write_bytes(b"stored after the snapshot began")
    (team / "notes.txt").write_bytes(b"placed by hand")

    report, restored_dir = backup_and_restore(server, tmp_path)
    assert "backup: 2 databases, 3 files" in report and "1 files left out" in report, report
    assert not (restored_dir / "files" / "team" / later).exists()
    restored = make_app("restored")
    with restored.login("admin", password) as admin:
        wait_until_synced_and_hashed(admin)
        files = {f["filename"]: f for f in files_of(admin)}
        assert set(files) == {"Café menu ü.pdf", "kept.txt", "notes.txt"}
        back = files["Café menu ü.pdf"]
        assert (back["id"], back["uploaded_by"], back["content_hash"]) == (
            menu["id"], "admin", menu["content_hash"])
        assert files["kept.txt"]["id"] == kept["id"]
        assert_every_file_matches_its_hash(admin)


def test_a_backup_taken_while_uploads_run(make_app, tmp_path):
    """Four clients upload (small and streamed) while the backup runs: the
    restored registry has every file's bytes, matching its hash, and no file
    comes back as a stranger (under a new id or its storage name)."""
    server = make_app("original")
    password = server.generated_admin_password()
    uploaded, stop = {}, threading.Event()

    # Logged in one after another: one address may have only 2 logins checked at once.
    admins = [server.login("admin", password) for _ in range(4)]

    def upload_until_stopped(client_number):
        with admins[client_number] as admin:
            n = 0
            while not stop.is_set():
                size = 300_000 if n % 3 == 0 else 2_000  # streamed, else stored in the batch
                content = os.urandom(size)
                response = admin.put(f"/-/files/upload/team/u{client_number}-{n}.bin",
                                     content=content)
                assert response.status_code == 201, response.text
                uploaded[response.json()["file"]["id"]] = response.json()["file"]
                n += 1

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        running = [pool.submit(upload_until_stopped, n) for n in range(4)]
        while len(uploaded) < 20:
            time.sleep(0.05)
        try:
            report, restored_dir = backup_and_restore(server, tmp_path)
        finally:
            stop.set()
        for future in running:
            future.result()
    server.stop()

    restored = make_app("restored")
    with restored.login("admin", password) as admin:
        wait_until_synced_and_hashed(admin)
        files = files_of(admin)
        assert files, report
        for file in files:
            assert file["id"] in uploaded, file
            assert file["filename"] == uploaded[file["id"]]["filename"]
        assert_every_file_matches_its_hash(admin)


def test_sigterm_abandons_an_upload_cleanly(make_app):
    server = make_app(env={"SHUTDOWN_TIMEOUT": "2"})
    password = server.generated_admin_password()
    with server.login("admin", password) as admin:
        token = api.prepare(admin, "team", "cut.bin", 100_000).json()["upload_token"]
        cookie = admin.cookies["ds_actor"]
    import socket

    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /-/files/upload/team/-/upload HTTP/1.1\r\nHost: x\r\n"
            + f"Cookie: ds_actor={cookie}\r\nX-Upload-Token: {token}\r\n".encode()
            + b"Content-Length: 100000\r\n\r\n" + b"c" * 40_000)
        time.sleep(0.5)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(30)
        assert time.monotonic() - started < 15
    temp = server.data_dir / "files" / "team" / ".datasette-files-tmp"
    assert list(temp.iterdir()) == []
    server.start()
    with server.login("admin", password) as admin:
        assert admin.get("/-/files/search.json").json()["total"] == 0
        assert api.send_raw(admin, "team", token, b"c" * 100_000).status_code == 200
        assert api.complete(admin, "team", token).status_code == 201


def test_check_reports_problems(tmp_path):
    good = run_cli("check", env={"DATA_DIR": str(tmp_path / "d")})
    assert good.returncode == 0, good.stderr
    assert b"source:   team (filesystem) ok" in good.stdout
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text(PRESET.read_text().replace("storage: filesystem", "storage: nfs", 1))
    bad = run_cli("check", env={"DATA_DIR": str(tmp_path / "d"), "CONFIG_PATH": str(bad_config)})
    assert bad.returncode == 1
    assert b"source 'team': unknown storage type 'nfs'" in bad.stderr
