"""The image built from our Dockerfile, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib

import httpx
import yaml

from support import api
from support.server import REPO_ROOT

CONTENT = os.urandom(1_000_000)


def test_docker_run_gives_a_login_protected_file_server(run_container):
    server = run_container()
    health = httpx.get(server.url + "/-/health")
    assert health.status_code == 200 and health.json()["ok"] is True
    assert httpx.get(server.url + "/").status_code == 403
    assert httpx.get(server.url + "/-/files/sources.json").status_code == 403
    with server.login("admin", server.admin_password()) as admin:
        file = api.upload(admin, "team", "integration-heron.bin", CONTENT)
        assert admin.get(file["download_url"]).content == CONTENT
        found = admin.get("/-/files/search.json", params={"q": "heron"}).json()["files"]
        assert [f["id"] for f in found] == [file["id"]]
    assert server.exec("id -u") != "0"
    assert server.exec("id -un") == "files"
    # Nothing installs at run time: the venv has no pip or setuptools.
    assert server.exec("ls /opt/venv/bin").split().count("pip") == 0
    assert "No module named" in server.exec("/opt/venv/bin/python -c 'import setuptools'")
    # Docker's own health status turns healthy soon after start (short interval).
    seconds = server.seconds_until_docker_says_healthy()
    print(f"docker reported healthy {seconds:.1f} s after start")


def test_the_build_leaves_no_wheelhouse_behind(image):
    # A later plain `docker build` must never pick up wheels made for this host.
    assert not (REPO_ROOT / "wheelhouse").exists()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert 'if [ -n "$WHEELHOUSE" ]' in dockerfile


def test_restart_on_the_same_volume_keeps_files_search_logins_and_secrets(run_container):
    first = run_container()
    password = first.admin_password()
    with first.login("admin", password) as admin:
        file = api.upload(admin, "archive", "kept-ibis.bin", CONTENT)
        saved = admin.post("/-/secrets/EXAMPLE_SECRET",
                           data={"secret": "s3cret-value", "note": "kept-across-restarts"})
        assert saved.status_code in (200, 302)
    first_logs = first.logs()
    first.stop()
    second = run_container()
    assert "No admin login was configured" not in second.logs()
    with second.login("admin", password) as admin:
        assert admin.get(file["download_url"]).content == CONTENT
        found = admin.get("/-/files/search.json", params={"q": "ibis"}).json()["files"]
        assert [f["id"] for f in found] == [file["id"]]
        assert "kept-across-restarts" in admin.get("/-/secrets").text
    assert "s3cret-value" not in first_logs + second.logs()


def test_a_mounted_config_with_an_added_source(run_container, tmp_path):
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["plugins"]["datasette-files"]["sources"]["scans"] = {
        "storage": "filesystem", "config": {"root": "files/scans"}}
    path = tmp_path / "datasette.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o644)
    server = run_container(mounts={path: "/app/config/datasette.yaml"})
    with server.login("admin", server.admin_password()) as admin:
        slugs = [s["slug"] for s in admin.get("/-/files/sources.json").json()["sources"]]
        assert slugs == ["team", "archive", "scans"]
        file = api.upload(admin, "scans", "scan.pdf", b"%PDF-1.7 scan")
        assert admin.get(file["download_url"]).content == b"%PDF-1.7 scan"
        assert admin.get("/-/health").json()["checks"]["source:scans"] == "ok"


def test_fly_toml_agrees_with_the_image_and_runs_with_its_env(image, run_container):
    fly = tomllib.loads((REPO_ROOT / "fly.toml").read_text())
    inspected = json.loads(subprocess.run(["docker", "image", "inspect", image],
                                          capture_output=True, check=True).stdout)[0]["Config"]
    port = fly["http_service"]["internal_port"]
    assert f"{port}/tcp" in inspected["ExposedPorts"]
    assert fly["env"]["PORT"] == str(port)
    assert fly["mounts"]["destination"] in inspected["Volumes"]
    assert fly["env"]["DATA_DIR"] == fly["mounts"]["destination"]
    health_path = fly["http_service"]["checks"][0]["path"]
    assert health_path == "/-/health"
    assert health_path in " ".join(inspected["Healthcheck"]["Test"])
    assert fly["http_service"]["force_https"] is True
    assert int(fly["env"]["SHUTDOWN_TIMEOUT"]) < int(fly["kill_timeout"].rstrip("s"))

    # Exactly the env fly.toml sets, behind a proxy that speaks https (here the
    # Docker bridge's gateway, 172.17.0.1, is in Fly's proxy range 172.16.0.0/12).
    server = run_container(env=fly["env"])
    password = server.admin_password()
    response = httpx.post(server.url + "/-/login",
                          data={"username": "admin", "password": password},
                          headers={"X-Forwarded-Proto": "https",
                                   "X-Forwarded-For": "10.9.9.9, 172.17.0.1",
                                   "Fly-Client-IP": "203.0.113.7"})
    assert response.status_code == 302
    assert "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "203.0.113.7" in server.wait_for_log("203.0.113.7")


def test_a_host_folder_the_server_cannot_write_gets_one_clear_line(image, tmp_path):
    # A folder made by root on the host, bind-mounted at /data: the server (uid
    # 10001) cannot write it, and says how to fix that instead of a traceback.
    host = tmp_path / "data"
    host.mkdir()
    host.chmod(0o755)
    run = subprocess.run(["docker", "run", "--rm", "-v", f"{host}:/data", image],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    assert "chown -R 10001:10001" in output and "named volume" in output, output
    assert len(output.strip().splitlines()) == 1, output


def test_a_backup_restores_into_a_new_docker_volume_as_the_readme_says(image, run_container,
                                                                      tmp_path):
    # The image's Python may predate tarfile's extraction filters (3.11.2 here).
    first = run_container()
    password = first.admin_password()
    with first.login("admin", password) as admin:
        file = api.upload(admin, "team", "restored-crane.bin", CONTENT)
    first.exec("files-server backup /tmp/backup.tar")
    backup = tmp_path / "backup"
    backup.mkdir()
    backup.chmod(0o755)
    copied = subprocess.run(
        ["docker", "cp", f"{first.container.get_wrapped_container().id}:/tmp/backup.tar",
         str(backup / "backup.tar")], capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    (backup / "backup.tar").chmod(0o644)
    first.stop()
    restored_volume = f"files-test-restored-{os.getpid()}"
    try:
        restore = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{restored_volume}:/data",
             "-v", f"{backup}:/backup:ro", image, "files-server", "restore", "/backup/backup.tar"],
            capture_output=True, text=True, timeout=120)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "Traceback" not in restore.stdout + restore.stderr
        second = run_container(on_volume=restored_volume)
        with second.login("admin", password) as admin:
            assert admin.get(file["download_url"]).content == CONTENT
        second.stop()
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", restored_volume], capture_output=True)
