"""First start on an empty data directory: layout, keys, the one-time admin login."""

import json
import stat

from support import api


def test_first_start_creates_the_layout_keys_and_an_admin(make_app):
    server = make_app()
    data = server.data_dir
    for path in ("files/team", "files/archive", "databases/data.db", "internal/internal.db"):
        assert (data / path).exists(), path
    assert stat.S_IMODE((data / "internal").stat().st_mode) == 0o700
    keys = json.loads((data / "internal" / "keys.json").read_text())
    assert set(keys) == {"DATASETTE_SECRET", "DATASETTE_SECRETS_ENCRYPTION_KEY"}
    assert stat.S_IMODE((data / "internal" / "keys.json").stat().st_mode) == 0o600
    log = server.log()
    assert "DATASETTE_SECRET is not set" in log and "fly secrets set" in log
    for secret in keys.values():
        assert secret not in log
    password = server.generated_admin_password()
    with server.login("admin", password) as admin:
        file = api.upload(admin, "team", "first.txt", b"first")
        assert file["uploaded_by"] == "admin"
    # The password is printed only once, and still works after a restart.
    server.restart()
    assert server.log().count(password) == 1
    with server.login("admin", password) as admin:
        assert admin.get(file["download_url"]).content == b"first"


def test_anonymous_gets_nothing(make_app):
    """The shipped config closes the instance to anonymous visitors: Datasette's
    pages and the plugin's alike, whatever the files-* grants say."""
    server = make_app()
    with server.login("admin", server.generated_admin_password()) as admin:
        file = api.upload(admin, "team", "team-notes.txt", b"ours")
        assert admin.get("/-/files").status_code == 200
    with server.client() as anonymous:
        assert anonymous.get("/").status_code == 403
        assert anonymous.get("/data").status_code == 403
        for path in ("/-/files/sources.json", "/-/files/search.json", file["url"] + ".json",
                     file["download_url"], file["thumbnail_url"]):
            api.assert_api_error(anonymous.get(path), 403, "view this instance")
        api.assert_api_error(api.prepare(anonymous, "team", "x.txt", 1), 403)
        for path in ("/-/files", "/-/files/search", "/-/files/source/team", file["url"]):
            page = anonymous.get(path)
            assert page.status_code == 403 and 'href="/-/login"' in page.text, path


def test_keys_from_the_environment_are_not_stored(make_app):
    server = make_app(env={"DATASETTE_SECRET": "s" * 64,
                           "DATASETTE_SECRETS_ENCRYPTION_KEY":
                               "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMTI="})
    assert not (server.data_dir / "internal" / "keys.json").exists() or \
        "DATASETTE_SECRET" not in json.loads(
            (server.data_dir / "internal" / "keys.json").read_text())
    assert "is not set" not in server.log()
