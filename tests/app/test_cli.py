"""The files-server commands tell the truth about logins, members and keys."""

import sys
import subprocess

import httpx

from support.server import REPO_ROOT


def run_cli(*args, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", **env},
                          input=stdin)


def test_check_tells_whether_an_admin_can_log_in(make_app, tmp_path):
    data = tmp_path / "data"
    before = run_cli("check", env={"DATA_DIR": str(data)})
    assert before.returncode == 0, before.stderr
    assert "logins:   no admin can log in yet; the first start will create 'admin'" \
        in before.stdout
    make_app("data").stop()
    after = run_cli("check", env={"DATA_DIR": str(data)})
    assert after.returncode == 0, after.stderr
    assert "no admin can log in yet" not in after.stdout
    assert "logins:   admin (admin) can log in" in after.stdout
    with_alice = run_cli("check", env={"DATA_DIR": str(data), "PASSWORD_HASH_ALICE": "x"})
    assert "logins:   admin (admin), alice (member) can log in" in with_alice.stdout


def test_a_token_only_for_a_member_who_can_act(make_app, tmp_path):
    server = make_app("data")
    env = {"DATA_DIR": str(server.data_dir)}
    stranger = run_cli("token", "alice", env=env)
    assert stranger.returncode == 1
    assert "'alice' is not a team member" in stranger.stderr
    assert stranger.stdout == ""
    roleless = tmp_path / "roleless.yaml"
    roleless.write_text((REPO_ROOT / "config" / "datasette.yaml").read_text().replace(
        "      admin: {roles: [admin]}", "      admin: {roles: [admin]}\n      bob: {roles: []}"))
    bob = run_cli("token", "bob", env={**env, "CONFIG_PATH": str(roleless)})
    assert bob.returncode == 1
    assert "'bob' has no roles" in bob.stderr
    made = run_cli("token", "admin", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/-/actor.json").json()["actor"]["id"] == "admin"


def test_a_token_refuses_a_data_directory_the_server_never_used(tmp_path):
    elsewhere = tmp_path / "not-the-server"
    made = run_cli("token", "admin", env={"DATA_DIR": str(elsewhere)})
    assert made.returncode == 1
    assert f"no signing key in {elsewhere}" in made.stderr
    assert not elsewhere.exists()


def test_a_mistyped_proxy_address_stops_the_server_naming_it(tmp_path):
    # Read leniently, "172.16.0.1/12" or "/33" would trust nobody and put every
    # client behind the proxy under one address for the login limits.
    for value in ("172.16.0.1/12", "10.0.0.0/33", "fly-proxy"):
        started = run_cli("serve", env={"DATA_DIR": str(tmp_path / "d"),
                                        "FORWARDED_ALLOW_IPS": f"127.0.0.1, {value}"})
        assert started.returncode != 0
        assert f"FORWARDED_ALLOW_IPS: {value!r} is not an IP address or network" \
            in started.stderr, started.stderr
        assert "Traceback" not in started.stderr
