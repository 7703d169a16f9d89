"""`files-server deploy fly`, against a fake flyctl that records its calls and
answers as flyctl does (tests/support/fake_fly.py); the health wait polls a
small local HTTP server standing in for https://APP.fly.dev."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from datasette_auth_passwords.utils import verify_password

from support.server import REPO_ROOT

FAKE_FLY = Path(__file__).resolve().parents[1] / "support" / "fake_fly.py"
MUTATING = ({"apps", "create"}, {"volumes", "create"}, {"secrets", "import"}, {"secrets", "set"},
            {"storage", "create"},
            {"deploy"})
SECRET_NAMES = {"DATASETTE_SECRET", "DATASETTE_SECRETS_ENCRYPTION_KEY", "PASSWORD_HASH_ADMIN"}


class Fly:
    """The fake flyctl on a PATH of its own, and what it recorded."""

    def __init__(self, folder: Path, name: str = "fly"):
        self.folder = folder
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        executable = self.bin / name
        executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_FLY}" "$@"\n')
        executable.chmod(0o755)

    def run(self, *args, env=None):
        """`files-server deploy fly ARGS`, with only the fake on PATH."""
        return subprocess.run(
            [sys.executable, "-m", "app", "deploy", "fly", *args], capture_output=True,
            text=True, cwd=REPO_ROOT, timeout=120,
            env={"PATH": str(self.bin), "FAKE_FLY_DIR": str(self.folder), **(env or {})})

    def calls(self) -> list[dict]:
        path = self.folder / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def mutations(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls() if is_mutating(c["argv"])]

    def state(self) -> dict:
        return json.loads((self.folder / "state.json").read_text())

    def seed(self, state: dict) -> None:
        (self.folder / "state.json").write_text(json.dumps(state))


def is_mutating(argv: list[str]) -> bool:
    return any(words <= set(argv[:2]) for words in MUTATING)


@pytest.fixture
def fly(tmp_path):
    return Fly(tmp_path / "fly")


@pytest.fixture
def health():
    """https://APP.fly.dev stand-in: /-/health answers 503 once (a machine
    still starting), then 200; or always 503 once `failing` is set."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            ok = self.path == "/-/health" and len(requests) > 1 and not server.failing
            self.send_response(200 if ok else 503)
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if ok else b"starting")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.failing = False
    server.requests = requests
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def printed_password(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip().startswith("password:")]
    assert len(lines) == 1, output
    return lines[0].split(":", 1)[1].strip()


def test_a_first_deploy_makes_the_app_its_secrets_and_volume(fly, health, make_app):
    first = fly.run("team-files", "--org", "acme", "--url", health.url)
    assert first.returncode == 0, first.stderr
    deploy = ["deploy", str(REPO_ROOT), "--app", "team-files", "--config",
              str(REPO_ROOT / "fly.toml"), "--ha=false"]
    assert fly.mutations() == [
        ["apps", "create", "team-files", "--org", "acme"],
        ["secrets", "import", "--app", "team-files", "--stage"],
        ["volumes", "create", "files_data", "--app", "team-files", "--region", "ams",
         "--size", "10", "--yes"],
        deploy,
    ]
    stored = fly.state()["apps"]["team-files"]["secrets"]
    assert set(stored) == SECRET_NAMES
    for call in fly.calls():
        assert not any(value in " ".join(call["argv"]) for value in stored.values()), call
    imported = [c["stdin"] for c in fly.calls() if c["argv"][:2] == ["secrets", "import"]]
    assert sorted(line.split("=", 1)[0] for line in imported[0].splitlines()) \
        == sorted(SECRET_NAMES)
    assert health.requests[-1] == "/-/health"
    assert f"{health.url}\n" in first.stdout
    assert "user:     admin" in first.stdout
    password = printed_password(first.stdout)
    assert verify_password(password, stored["PASSWORD_HASH_ADMIN"])

    # The secrets it made are what our server runs with: the admin logs in.
    server = make_app("fly-data", env=stored)
    with server.login("admin", password) as admin:
        assert admin.get("/-/actor.json").json()["actor"]["roles"] == ["admin"]
    assert "password:" not in server.log()  # no second admin generated on the volume


def test_a_rerun_only_deploys_and_keeps_every_secret(fly, health):
    assert fly.run("team-files", "--url", health.url).returncode == 0
    secrets_before = fly.state()["apps"]["team-files"]["secrets"]
    calls_before = len(fly.calls())

    again = fly.run("team-files", "--url", health.url)
    assert again.returncode == 0, again.stderr
    rerun = fly.calls()[calls_before:]
    assert [c["argv"][0] for c in rerun if is_mutating(c["argv"])] == ["deploy"]
    assert {" ".join(c["argv"][:2]) for c in rerun if not is_mutating(c["argv"])} \
        == {"apps list", "volumes list", "secrets list"}
    assert fly.state()["apps"]["team-files"]["secrets"] == secrets_before
    assert "password:" not in again.stdout
    assert "admin keeps its password" in again.stdout


def test_the_app_name_defaults_to_fly_toml(fly, health):
    assert fly.run("--url", health.url).returncode == 0
    assert fly.mutations()[0] == ["apps", "create", "datasette-team-files"]


def test_a_region_other_than_fly_tomls_is_refused_before_anything_is_made(fly, health):
    # fly deploy places the machine in primary_region: a volume elsewhere would
    # be out of its reach, and the first deploy would fail.
    done = fly.run("team-files", "--region", "syd", "--url", health.url)
    assert done.returncode == 1
    assert "primary_region" in done.stderr and "'ams'" in done.stderr, done.stderr
    assert fly.mutations() == []


def test_a_dry_run_changes_nothing_and_shows_no_secret(tmp_path, health):
    flyctl = Fly(tmp_path / "flyctl", name="flyctl")
    dry = flyctl.run("team-files", "--dry-run", "--size", "3", "--url", health.url)
    assert dry.returncode == 0, dry.stderr
    assert flyctl.mutations() == []
    assert [c["argv"][:2] for c in flyctl.calls()] == [["apps", "list"]]
    assert not flyctl.state()["apps"]
    assert health.requests == []
    out = dry.stdout
    assert "flyctl apps create team-files\n" in out
    assert "flyctl volumes create files_data --app team-files --region ams --size 3 --yes" in out
    assert f"flyctl deploy {REPO_ROOT} --app team-files" in out
    for name in SECRET_NAMES:
        assert f"{name}=<hidden>" in out
    assert "pbkdf2" not in out and "password:" not in out


def test_a_dry_run_of_a_deployed_app_plans_only_the_deploy(fly, health):
    assert fly.run("team-files", "--url", health.url).returncode == 0
    calls_before = len(fly.calls())
    dry = fly.run("team-files", "--dry-run", "--url", health.url)
    assert dry.returncode == 0, dry.stderr
    assert not [c for c in fly.calls()[calls_before:] if is_mutating(c["argv"])]
    assert "create" not in dry.stdout and "secrets import" not in dry.stdout
    assert "fly deploy" in dry.stdout


def test_without_flyctl_it_says_how_to_get_it(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run([sys.executable, "-m", "app", "deploy", "fly", "team-files"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                            env={"PATH": str(empty)})
    assert result.returncode == 1
    assert "neither `fly` nor `flyctl` is on PATH" in result.stderr
    assert "https://fly.io/docs/flyctl/install/" in result.stderr


def test_a_failed_deploy_exits_with_its_message_and_still_shows_the_password(fly, health):
    failed = fly.run("team-files", "--url", health.url,
                     env={"FAKE_FLY_DEPLOY_ERROR": "failed to fetch an image or build from source"})
    assert failed.returncode == 1
    assert "failed to fetch an image or build from source" in failed.stderr
    assert "`fly deploy` failed" in failed.stderr
    assert health.requests == []
    # The admin secret is stored: its password must not be lost with the deploy.
    password = printed_password(failed.stdout)
    stored = fly.state()["apps"]["team-files"]["secrets"]
    assert verify_password(password, stored["PASSWORD_HASH_ADMIN"])

    fixed = fly.run("team-files", "--url", health.url)
    assert fixed.returncode == 0, fixed.stderr
    assert fly.state()["apps"]["team-files"]["secrets"] == stored


def test_a_server_that_never_gets_healthy_is_reported(fly, health):
    health.failing = True
    result = fly.run("team-files", "--url", health.url, "--health-timeout", "2")
    assert result.returncode == 1
    assert f"{health.url}/-/health did not answer 200 within 2 s" in result.stderr
    assert "fly logs --app team-files" in result.stderr
    printed_password(result.stdout)


def test_an_app_deployed_by_hand_keeps_the_keys_on_its_volume(fly, health):
    """Its server keeps its keys in /data/internal/keys.json: new key secrets
    would override them, ending every session and making stored secrets
    unreadable; a new admin secret would change a password the team uses."""
    fly.seed({"apps": {"team-files": {
        "org": "personal", "status": "deployed", "deployed": True, "secrets": {},
        "volumes": [{"id": "vol_1", "name": "files_data", "state": "created", "size_gb": 10,
                     "region": "ams", "attached_machine_id": "148e21"}]}}})
    result = fly.run("team-files", "--url", health.url)
    assert result.returncode == 0, result.stderr
    assert [argv[0] for argv in fly.mutations()] == ["deploy"]
    assert "keeps the keys its first start made" in result.stdout
    assert "password:" not in result.stdout


def test_tigris_makes_a_bucket_once_and_the_server_gets_a_bucket_source(fly, health, tmp_path):
    first = fly.run("team-files", "--tigris", "--url", health.url)
    assert first.returncode == 0, first.stderr
    mutations = fly.mutations()
    assert ["storage", "create", "--app", "team-files", "--name", "team-files-files",
            "--yes"] in mutations
    # The bucket's secrets are on the app before the deploy that needs them.
    assert mutations.index(["storage", "create", "--app", "team-files", "--name",
                            "team-files-files", "--yes"]) < len(mutations) - 1
    assert mutations[-1][0] == "deploy"
    stored = fly.state()["apps"]["team-files"]["secrets"]
    assert stored["BUCKET_NAME"] == "team-files-files"
    assert not any(stored["AWS_SECRET_ACCESS_KEY"] in line for line in (first.stdout, first.stderr))

    # What the server makes of those secrets on Fly (FLY_APP_NAME is set there).
    from app.config import prepare_config
    from app.datadir import DataDir
    prepared = prepare_config({}, DataDir(tmp_path), {**stored, "FLY_APP_NAME": "team-files"},
                              create_admin=False)
    assert prepared.config["plugins"]["datasette-files"]["sources"]["bucket"] == {
        "storage": "s3-compatible", "config": {
            "bucket": "team-files-files", "cors_origins": ["https://team-files.fly.dev"],
            "manage_cors": True}}

    rerun = fly.run("team-files", "--tigris", "--url", health.url)
    assert rerun.returncode == 0, rerun.stderr
    assert sum(m[:2] == ["storage", "create"] for m in fly.mutations()) == 1
    assert "the app has a bucket already (BUCKET_NAME is set)" in rerun.stdout


def test_a_tigris_dry_run_shows_the_bucket_step_and_makes_nothing(fly, health):
    dry = fly.run("team-files", "--tigris", "--dry-run", "--url", health.url)
    assert dry.returncode == 0, dry.stderr
    assert "fly storage create --app team-files --name team-files-files --yes" in dry.stdout
    assert fly.mutations() == []
