"""Secrets: admins manage them at /-/secrets; a storage source's config uses them."""

import yaml

from support.server import REPO_ROOT, member_env

PRESET = REPO_ROOT / "config" / "datasette.yaml"


def test_a_storage_source_gets_its_secret_from_the_secrets_page(make_app, memstore_site, tmp_path):
    config = yaml.safe_load(PRESET.read_text())
    config["plugins"]["datasette-files"]["sources"]["bucket"] = {
        "storage": "memory-bucket",
        "config": {"bucket": "b", "secret_name": "BUCKET_KEY", "expected_secret": "k3y"}}
    path = tmp_path / "datasette.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {"PYTHONPATH": str(memstore_site)}
    # The memstore plugin refuses to start unless get_secret gives "k3y": the
    # first start passes it through the environment.
    server = make_app(config_path=path, env={**env, "DATASETTE_SECRETS_BUCKET_KEY": "k3y"})
    password = server.generated_admin_password()
    with server.login("admin", password) as admin:
        page = admin.get("/-/secrets")
        assert page.status_code == 200 and "BUCKET_KEY" in page.text
        saved = admin.post("/-/secrets/BUCKET_KEY", data={"secret": "k3y", "note": "bucket"})
        assert saved.status_code in (200, 302)
    # Now without the environment variable: the stored, encrypted secret is used.
    server.env = env
    server.restart()
    with server.login("admin", password) as admin:
        assert "bucket" in [s["slug"] for s in admin.get("/-/files/sources.json").json()["sources"]]
    assert "k3y" not in server.log()
    stored = (server.data_dir / "internal" / "internal.db").read_bytes()
    assert b"k3y" not in stored


def test_only_admins_manage_secrets(make_app):
    server = make_app(env=member_env("bob", "bob-pass"))
    with server.login("bob", "bob-pass") as bob:
        assert bob.get("/-/secrets").status_code == 403
        assert bob.post("/-/secrets/EXAMPLE_SECRET", data={"secret": "x"}).status_code == 403
    with server.login("admin", server.generated_admin_password()) as admin:
        assert admin.get("/-/secrets").status_code == 200
