"""Logins, roles, cookies, throttling and API tokens, through the real login form."""

import re
import time

import httpx
import pytest

from support import api
from support.server import member_env


@pytest.fixture(scope="module")
def team_env():
    return {**member_env("admin", "admin-pass"), **member_env("bob", "bob-pass"),
            **member_env("carol", "carol-pass")}


def test_members_and_roles(make_app, team_env):
    server = make_app(env=team_env)
    assert "No admin login was configured" not in server.log()
    with server.login("admin", "admin-pass") as admin, \
            server.login("bob", "bob-pass") as bob, server.login("carol", "carol-pass") as carol:
        bobs = api.upload(bob, "team", "bobs.txt", b"b")
        admins = api.upload(admin, "team", "admins.txt", b"a")
        assert bob.get(admins["download_url"]).status_code == 200
        # Members edit and delete their own files only; admins any.
        assert carol.post(f"/-/files/{bobs['id']}/-/delete", json={}).status_code == 403
        assert bob.post(f"/-/files/{admins['id']}/-/update",
                        json={"update": {"search_text": "x"}}).status_code == 403
        assert bob.post(f"/-/files/{bobs['id']}/-/update",
                        json={"update": {"search_text": "mine"}}).status_code == 200
        assert bob.post(f"/-/files/{bobs['id']}/-/delete", json={}).status_code == 200
        assert admin.post(f"/-/files/{admins['id']}/-/delete", json={}).status_code == 200
    bad = httpx.post(server.url + "/-/login", data={"username": "bob", "password": "nope"})
    assert bad.status_code == 200 and "Invalid username or password" in bad.text


def test_session_cookie_flags_and_logout(make_app, team_env):
    server = make_app(env=team_env)
    response = httpx.post(server.url + "/-/login",
                          data={"username": "bob", "password": "bob-pass"})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain HTTP here
    with httpx.Client(base_url=server.url, cookies=response.cookies) as client:
        assert client.get("/-/actor.json").json()["actor"]["id"] == "bob"
        client.post("/-/logout")
        assert client.get("/-/actor.json").json()["actor"] is None


def test_a_login_lasts_session_days(make_app, team_env):
    from itsdangerous import URLSafeSerializer
    from datasette.utils import baseconv

    server = make_app(env=team_env)
    login = httpx.post(server.url + "/-/login", data={"username": "bob", "password": "bob-pass"})
    assert "Max-Age=1209600" in login.headers["set-cookie"]  # 14 days
    session = URLSafeSerializer(server.secret(), "actor").loads(login.cookies["ds_actor"])
    expires_at = int(baseconv.base62.decode(session["e"]))
    assert abs(expires_at - (time.time() + 14 * 86400)) < 60
    assert session["a"]["id"] == "bob"

    short = make_app("short", env={**team_env, "SESSION_DAYS": str(3 / 86400)})
    login = httpx.post(short.url + "/-/login", data={"username": "bob", "password": "bob-pass"})
    assert "Max-Age=3" in login.headers["set-cookie"]
    with httpx.Client(base_url=short.url, cookies=login.cookies) as client:
        assert client.get("/-/actor.json").json()["actor"]["id"] == "bob"
        time.sleep(4)
        # The browser would have dropped it; a copy of it is refused as well.
        assert client.get("/-/actor.json").json()["actor"] is None


def test_behind_a_trusted_proxy_https_gives_secure_cookies_and_hsts(make_app, team_env):
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    response = httpx.post(server.url + "/-/login",
                          data={"username": "bob", "password": "bob-pass"},
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")
    # A browser POST from the https origin passes Datasette's CSRF check; one
    # from another origin does not. (The Secure cookie is sent by hand: this
    # client speaks plain HTTP to the "proxy".)
    browser = {"X-Forwarded-Proto": "https", "Sec-Fetch-Site": "same-origin",
               "Cookie": f"ds_actor={response.cookies['ds_actor']}",
               "Origin": f"https://127.0.0.1:{server.port}"}
    prepare = server.url + "/-/files/upload/team/-/prepare"
    body = {"filename": "a.txt", "size": 1}
    assert httpx.post(prepare, json=body, headers=browser).status_code == 200
    cross = {**browser, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    assert httpx.post(prepare, json=body, headers=cross).status_code == 403


def test_no_hsts_or_secure_when_the_header_comes_from_an_untrusted_client(make_app, team_env):
    server = make_app(env=team_env)
    response = httpx.post(server.url + "/-/login",
                          data={"username": "bob", "password": "bob-pass"},
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in response.headers["set-cookie"]
    assert "strict-transport-security" not in response.headers


def fail_login(server, **headers):
    return httpx.post(server.url + "/-/login", data={"username": "bob", "password": "wrong"},
                      headers=headers).status_code


def test_failed_logins_are_throttled_and_forged_addresses_are_ignored(make_app, team_env):
    server = make_app(env=team_env)
    assert [fail_login(server) for _ in range(10)] == [200] * 10
    assert fail_login(server) == 429
    # A made-up X-Forwarded-For from a client that is not the trusted proxy changes nothing.
    assert fail_login(server, **{"X-Forwarded-For": "203.0.113.9"}) == 429
    # The right password is refused too while throttled: guessing cannot continue.
    response = httpx.post(server.url + "/-/login",
                          data={"username": "bob", "password": "bob-pass"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert response.json()["ok"] is False


def test_behind_the_trusted_proxy_each_client_has_its_own_budget(make_app, team_env):
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    first = {"X-Forwarded-For": "203.0.113.1"}
    assert [fail_login(server, **first) for _ in range(10)] == [200] * 10
    assert fail_login(server, **first) == 429
    assert fail_login(server, **{"X-Forwarded-For": "203.0.113.2"}) == 200


def test_api_tokens_from_create_token(make_app, team_env):
    server = make_app(env=team_env)
    with server.login("bob", "bob-pass") as bob:
        page = bob.get("/-/create-token")
        assert page.status_code == 200
        created = bob.post("/-/create-token",
                           data={"expire_type": "hours", "expire_duration": "1"})
    token = re.search(r"(dstok_[A-Za-z0-9._-]+)", created.text).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers) as scripted:
        file = api.upload(scripted, "team", "scripted.txt", b"from a script", raw=True)
        assert file["uploaded_by"] == "bob"
        assert scripted.get(file["download_url"]).content == b"from a script"
        found = scripted.get("/-/files/search.json", params={"q": "scripted"}).json()
        assert [f["id"] for f in found["files"]] == [file["id"]]
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer dstok_forged"}) as c:
        assert api.prepare(c, "team", "x.txt", 1).status_code == 401



def test_session_cookies_are_verified_and_expire(make_app, team_env):
    from itsdangerous import URLSafeSerializer
    from datasette.utils import baseconv

    server = make_app(env=team_env)
    signer = URLSafeSerializer(server.secret(), "actor")

    def actor_with(cookie):
        with httpx.Client(base_url=server.url, cookies={"ds_actor": cookie}) as client:
            return client.get("/-/actor.json").json()["actor"]

    def expiring(seconds):
        return signer.dumps({"a": {"id": "bob"},
                             "e": baseconv.base62.encode(int(time.time() + seconds))})

    assert actor_with(signer.dumps({"a": {"id": "bob"}})) == {"id": "bob", "roles": ["member"]}
    assert actor_with(expiring(3600)) == {"id": "bob", "roles": ["member"]}
    assert actor_with(expiring(-1)) is None
    forged = URLSafeSerializer("not-the-secret", "actor").dumps({"a": {"id": "admin"}})
    assert actor_with(forged) is None
    # A cookie seen before is still checked for expiry on every request.
    soon = expiring(2)
    assert actor_with(soon) == {"id": "bob", "roles": ["member"]}
    time.sleep(3)
    assert actor_with(soon) is None


def test_passwords_are_checked_at_the_login_form_only(make_app, team_env):
    """Passwords are checked at /-/login only (throttled), never per request."""
    server = make_app(env=team_env)
    for auth in (("bob", "bob-pass"), ("bob", "wrong")):
        response = httpx.get(server.url + "/-/files/search.json", auth=auth)
        api.assert_api_error(response, 401, "Basic authentication is not accepted")
    # Nor does anyone get a password hashed for them (a pbkdf2 per request).
    for method in ("GET", "POST"):
        response = httpx.request(method, server.url + "/-/password-tool", data={"password": "x"})
        api.assert_api_error(response, 404, "files-server member")
    # The login form and tokens are unaffected.
    with server.login("bob", "bob-pass") as bob:
        assert bob.get("/-/actor.json").json()["actor"]["id"] == "bob"
