"""/-/health: ok or not for anyone; which check failed, and why, for admins only;
a source whose disk is nearly full is "degraded", not down."""

import subprocess

import httpx
import pytest

from support.server import member_env
from test_operations import edited_preset

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def team_env():
    return {**member_env("admin", "admin-pass"), **member_env("alice", "alice-pass")}


def on_tiny_disk(tmp_path, tiny_disk, **plugin_settings):
    """The shipped config, with the team source on the tiny disk."""
    def edit(config):
        files = config["plugins"]["datasette-files"]
        files["sources"]["team"]["config"]["root"] = str(tiny_disk)
        files.update(plugin_settings)
    return edited_preset(tmp_path, edit)


def health_as(server, *clients):
    """What each client (None: anonymous) gets from /-/health."""
    return [(client or httpx).get(server.url + "/-/health") for client in clients]


def test_only_admins_learn_which_check_failed_and_why(make_app, tmp_path, tiny_disk, team_env):
    server = make_app(config_path=on_tiny_disk(tmp_path, tiny_disk, min_free_space=MIB // 2),
                      env=team_env)
    with server.login("admin", "admin-pass") as admin, \
            server.login("alice", "alice-pass") as member:
        detailed, anonymous, members = health_as(server, admin, None, member)
        assert detailed.status_code == anonymous.status_code == members.status_code == 200
        assert detailed.json()["status"] == "ok"
        assert detailed.json()["checks"] == {
            "database:_internal": "ok", "database:data": "ok",
            "source:team": "ok", "source:archive": "ok"}
        assert anonymous.json() == members.json() == {"ok": True}

        subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
        detailed, anonymous, members = health_as(server, admin, None, member)
    assert detailed.status_code == anonymous.status_code == members.status_code == 503
    body = detailed.json()
    assert body["ok"] is False and body["status"] == "failed"
    assert body["checks"]["source:team"] == "failed" and body["checks"]["source:archive"] == "ok"
    assert any(e.startswith("source:team: ") and "Read-only" in e for e in body["errors"])
    # No check names, paths or error text for the others.
    assert anonymous.json() == members.json() == {"ok": False}
    assert "team" not in anonymous.text and str(tiny_disk) not in anonymous.text


def test_a_source_below_the_free_space_floor_is_degraded(make_app, tmp_path, tiny_disk,
                                                         team_env):
    server = make_app(config_path=on_tiny_disk(tmp_path, tiny_disk, min_free_space=MIB),
                      env=team_env)
    with server.login("admin", "admin-pass") as admin:
        before = admin.get("/-/health").json()
        assert before["status"] == "ok" and before["free_bytes"]["source:team"] > MIB
        # Something else fills the disk: 1.5 of its 2 MiB.
        (tiny_disk / "filler.bin").write_bytes(b"x" * (MIB + MIB // 2))
        degraded, anonymous = health_as(server, admin, None)
    # Still up: a restart would free no disk, and downloads still work.
    assert degraded.status_code == anonymous.status_code == 200
    body = degraded.json()
    assert body["ok"] is True and body["status"] == "degraded"
    assert body["checks"]["source:team"] == "degraded" and body["checks"]["source:archive"] == "ok"
    assert body["free_bytes"]["source:team"] < MIB
    assert [w for w in body["warnings"] if w.startswith("source:team: ")
            and "min_free_space" in w] and "errors" not in body
    assert anonymous.json() == {"ok": True}
