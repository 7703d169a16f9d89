"""Logins, roles, cookies, throttling and API tokens, through the real login form."""

import asyncio
import concurrent.futures
import os
import re
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from support import api
from support.server import REPO_ROOT, member_env


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

    server = make_app(env=team_env)
    signer = URLSafeSerializer(server.secret(), "actor")

    def actor_with(cookie):
        with httpx.Client(base_url=server.url, cookies={"ds_actor": cookie}) as client:
            return client.get("/-/actor.json").json()["actor"]

    login = httpx.post(server.url + "/-/login", data={"username": "bob", "password": "bob-pass"})
    session = signer.loads(login.cookies["ds_actor"])
    assert actor_with(login.cookies["ds_actor"]) == {"id": "bob", "roles": ["member"]}
    # A cookie of the previous version (no session on the server) is refused,
    # however it is signed, and so is any session id the server never made.
    assert actor_with(signer.dumps({"a": {"id": "bob"}})) is None
    assert actor_with(signer.dumps({**session, "s": "made-up"})) is None
    # The session belongs to its member: the same id under another name is refused.
    assert actor_with(signer.dumps({**session, "a": {"id": "admin"}})) is None
    forged = URLSafeSerializer("not-the-secret", "actor").dumps(session)
    assert actor_with(forged) is None


def test_a_cookie_copied_before_logout_stops_working(make_app, team_env):
    server = make_app(env=team_env)
    with server.login("bob", "bob-pass") as bob, server.login("bob", "bob-pass") as other_device:
        copied = bob.cookies["ds_actor"]
        assert bob.post("/-/logout").status_code == 302
        with httpx.Client(base_url=server.url, cookies={"ds_actor": copied}) as thief:
            assert thief.get("/-/actor.json").json()["actor"] is None
        # Only that login ended.
        assert other_device.get("/-/actor.json").json()["actor"]["id"] == "bob"


def test_sessions_survive_a_restart_and_a_changed_password_ends_them(make_app, team_env):
    server = make_app(env=team_env)
    bob = server.login("bob", "bob-pass")
    carol = server.login("carol", "carol-pass")
    server.restart()
    assert bob.get("/-/actor.json").json()["actor"]["id"] == "bob"
    # Bob's password changes: his logins made with the old one end, carol's stay.
    server.env = {**team_env, **member_env("bob", "new-bob-pass")}
    server.restart()
    assert bob.get("/-/actor.json").json()["actor"] is None
    assert carol.get("/-/actor.json").json()["actor"]["id"] == "carol"
    with server.login("bob", "new-bob-pass") as again:
        assert again.get("/-/actor.json").json()["actor"]["id"] == "bob"


def test_a_member_signs_out_everywhere(make_app, team_env):
    server = make_app(env=team_env)
    laptop, phone = server.login("bob", "bob-pass"), server.login("bob", "bob-pass")
    carol = server.login("carol", "carol-pass")
    # The account page, in the menu, offers it as a form posting to the same origin.
    assert 'href="/-/logout">Your login' in laptop.get("/").text
    page = laptop.get("/-/logout")
    assert page.status_code == 200 and 'action="/-/sign-out-everywhere"' in page.text
    # A cross-site form cannot sign anyone out.
    cross = laptop.post("/-/sign-out-everywhere", headers={
        "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert phone.get("/-/actor.json").json()["actor"]["id"] == "bob"
    answer = laptop.post("/-/sign-out-everywhere", json={})
    assert answer.status_code == 200 and answer.json() == {"ok": True, "member": "bob",
                                                          "signed_out": 2}
    for client in (laptop, phone):
        assert client.get("/-/actor.json").json()["actor"] is None
    assert carol.get("/-/actor.json").json()["actor"]["id"] == "carol"
    # A browser's form is answered with a redirect that also clears its cookie.
    browser = server.login("bob", "bob-pass")
    response = browser.post("/-/sign-out-everywhere", data={"confirm": "yes"})
    assert response.status_code == 302 and 'ds_actor=""' in response.headers["set-cookie"]
    api.assert_api_error(httpx.post(server.url + "/-/sign-out-everywhere", json={}),
                         401, "log in")


def test_an_admin_signs_a_member_out_from_the_api_and_the_command_line(make_app, team_env):
    server = make_app(env=team_env)
    admin, bob = server.login("admin", "admin-pass"), server.login("bob", "bob-pass")
    carol = server.login("carol", "carol-pass")
    api.assert_api_error(carol.post("/-/members/bob/sign-out", json={}), 403, "admin")
    answer = admin.post("/-/members/bob/sign-out", json={})
    assert answer.json() == {"ok": True, "member": "bob", "signed_out": 1}
    assert bob.get("/-/actor.json").json()["actor"] is None
    assert carol.get("/-/actor.json").json()["actor"]["id"] == "carol"

    # From another process, while the server runs: it takes effect within seconds.
    bob = server.login("bob", "bob-pass")
    assert bob.get("/-/actor.json").json()["actor"]["id"] == "bob"
    out = subprocess.run([sys.executable, "-m", "app", "signout", "bob"], cwd=str(REPO_ROOT),
                         env={**os.environ, "DATA_DIR": str(server.data_dir)},
                         capture_output=True, text=True, check=True).stdout
    assert "bob: 1 login ended" in out
    deadline = time.monotonic() + 10
    while bob.get("/-/actor.json").json()["actor"] is not None:
        assert time.monotonic() < deadline, "the command line's sign-out did not take effect"
        time.sleep(0.2)
    assert carol.get("/-/actor.json").json()["actor"]["id"] == "carol"


def test_expired_sessions_are_removed(make_app, team_env):
    server = make_app(env={**team_env, "SESSION_DAYS": str(1 / 86400)})
    server.login("bob", "bob-pass")
    server.login("carol", "carol-pass")
    time.sleep(2)
    server.login("bob", "bob-pass")  # a login sweeps the expired ones
    with sqlite3.connect(server.data_dir / "internal" / "logins.db") as db:
        assert db.execute("select count(*) from sessions").fetchone()[0] == 1


async def _post_logins(url, forms, addresses=None):
    limits = httpx.Limits(max_connections=len(forms) + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        return await asyncio.gather(*(
            client.post("/-/login", data=form,
                        headers={"X-Forwarded-For": addresses[i]} if addresses else {})
            for i, form in enumerate(forms)))


def test_guesses_in_flight_count_against_the_address(make_app, team_env):
    server = make_app(env=team_env)
    forms = [{"username": "bob", "password": f"wrong-{i}"} for i in range(100)]
    forms[37] = {"username": "bob", "password": "bob-pass"}
    responses = asyncio.run(_post_logins(server.url, forms))
    statuses = [r.status_code for r in responses]
    checked = [s for s in statuses if s in (200, 302)]
    assert len(checked) <= 10, sorted(statuses)
    assert statuses.count(429) == 100 - len(checked) and len(checked) >= 1
    for response in responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) > 0
    # The right password logged in only if it was among the ones checked.
    assert statuses[37] in (302, 429)


def test_an_account_is_locked_after_20_failures_except_where_it_logged_in_before(
        make_app, team_env):
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    home = {"X-Forwarded-For": "198.51.100.7"}

    def login(username, password, address):
        return httpx.post(server.url + "/-/login",
                          data={"username": username, "password": password},
                          headers={"X-Forwarded-For": address})

    assert login("bob", "bob-pass", home["X-Forwarded-For"]).status_code == 302

    def lock(username, addresses):
        # 20 guesses from two addresses, 10 from each (its limit), one at a time.
        for address in addresses:
            statuses = [login(username, f"guess-{i}", address).status_code for i in range(10)]
            assert statuses == [200] * 10

    lock("bob", ["203.0.113.1", "203.0.113.2"])
    locked = login("bob", "bob-pass", "203.0.113.3")
    api.assert_api_error(locked, 429, "Too many failed logins for this account")
    assert int(locked.headers["retry-after"]) > 0
    # An unknown username gets the same answer after as many guesses: nothing told.
    lock("nobody", ["203.0.113.11", "203.0.113.12"])
    unknown = login("nobody", "whatever", "203.0.113.4")
    api.assert_api_error(unknown, 429, "Too many failed logins for this account")
    # Bob still logs in from where he did before, and carol is not affected.
    assert login("bob", "bob-pass", "198.51.100.7").status_code == 302
    assert login("carol", "carol-pass", "203.0.113.5").status_code == 302

    # The addresses he logged in from are remembered across a restart.
    server.restart()
    lock("bob", ["203.0.113.21", "203.0.113.22"])
    assert login("bob", "bob-pass", "203.0.113.6").status_code == 429
    assert login("bob", "bob-pass", "198.51.100.7").status_code == 302


def _timed_get(client, path):
    started = time.perf_counter()
    response = client.get(path)
    return time.perf_counter() - started, response.status_code


def _bystander_during(server, client, paths, flood):
    """Runs ``flood`` while ``client`` fetches ``paths`` in turn; returns the
    slowest time and every status the bystander got."""
    timings = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        flooding = pool.submit(flood)
        while not flooding.done():
            for path in paths:
                timings.append(_timed_get(client, path))
        flood_result = flooding.result()
    assert len(timings) >= 4, timings
    return max(t for t, _ in timings), {s for _, s in timings}, flood_result


@pytest.mark.parametrize("addresses", ["one", "a hundred"])
def test_a_login_flood_leaves_other_requests_and_health_responsive(make_app, team_env,
                                                                    addresses):
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    with server.login("carol", "carol-pass") as carol:
        file = api.upload(carol, "team", "small.txt", b"fourteen bytes")
        forms = [{"username": "bob", "password": f"wrong-{i}"} for i in range(100)]
        spread = [f"203.0.113.{i}" for i in range(100)] if addresses != "one" else None
        slowest, statuses, flood = _bystander_during(
            server, carol, [file["download_url"], "/-/health"],
            lambda: asyncio.run(_post_logins(server.url, forms, spread)))
    assert statuses == {200}
    flood_statuses = {r.status_code for r in flood}
    # Logins beyond what the hashing pool holds are refused at once (429, try
    # again later), never queued without bound, and never a server error; from
    # one address the throttle refuses them first.
    assert flood_statuses <= {200, 429}, flood_statuses
    assert slowest < 1.0, slowest


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


def _login_loops(url, form, headers, seconds, loops=20):
    """``loops`` clients logging in with ``form`` as fast as they can for
    ``seconds``; every status they got."""
    async def loop(client, deadline):
        statuses = []
        while time.monotonic() < deadline:
            statuses.append((await client.post("/-/login", data=form, headers=headers)).status_code)
        return statuses

    async def run():
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            results = await asyncio.gather(*(loop(client, deadline) for _ in range(loops)))
        return [status for statuses in results for status in statuses]

    return asyncio.run(run())


def test_right_passwords_from_a_few_addresses_cannot_keep_others_from_logging_in(
        make_app, team_env):
    """A member's own password, sent in a loop by 20 clients from each of two
    addresses, must not fill the password checker's queue (16 places): checks
    per address are limited in flight (2) and in number (60 per 10 minutes),
    successes included. Before, each address had 10 checks in flight."""
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    bob = {"username": "bob", "password": "bob-pass"}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        floods = [pool.submit(_login_loops, server.url, bob, {"X-Forwarded-For": address}, 6)
                  for address in ("203.0.113.50", "203.0.113.51")]
        time.sleep(1)
        others = []
        for i in range(5):
            others.append(httpx.post(server.url + "/-/login",
                                     data={"username": "carol", "password": "carol-pass"},
                                     headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code)
            time.sleep(0.5)
        statuses = [status for flood in floods for status in flood.result()]
    assert others == [302] * 5, others
    assert set(statuses) <= {302, 429}, set(statuses)


def test_on_fly_the_address_is_the_one_flys_proxy_saw(make_app, team_env):
    """Behind Fly's proxy, X-Forwarded-For begins with whatever the client
    wrote; the address comes from CLIENT_IP_HEADER (Fly-Client-IP, which Fly's
    proxy sets itself) instead. Here the proxy is 127.0.0.1."""
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1",
                           "CLIENT_IP_HEADER": "Fly-Client-IP"})

    def guess(i, address):
        return httpx.post(server.url + "/-/login",
                          data={"username": "nobody", "password": f"wrong-{i}"},
                          headers={"X-Forwarded-For": f"10.9.{i}.1, {address}",
                                   "Fly-Client-IP": address}).status_code

    statuses = [guess(i, "203.0.113.7") for i in range(12)]
    assert statuses == [200] * 10 + [429, 429], statuses
    assert guess(99, "203.0.113.8") == 200  # another client is not held back


def test_a_peer_that_is_not_the_proxy_cannot_forge_its_address(make_app, team_env):
    """Another machine of the organisation reaching the port directly (here
    127.0.0.1, while the proxy is elsewhere) is known by its own address,
    whatever Fly-Client-IP and X-Forwarded-For it writes."""
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "172.16.0.0/12",
                           "CLIENT_IP_HEADER": "Fly-Client-IP"})

    def forged_guess(i):
        return httpx.post(server.url + "/-/login",
                          data={"username": "nobody", "password": f"wrong-{i}"},
                          headers={"X-Forwarded-For": f"198.51.100.{i}",
                                   "Fly-Client-IP": f"203.0.113.{i}"}).status_code

    statuses = [forged_guess(i) for i in range(12)]
    assert statuses == [200] * 10 + [429, 429], statuses
    assert "header from 127.0.0.1, which is not in FORWARDED_ALLOW_IPS" in server.log()


@pytest.mark.parametrize("host,key", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("not-an-address", "not-an-address"),
])
def test_an_ipv6_client_is_limited_by_its_64_network(host, key):
    from app.middleware import client_address
    assert client_address({"client": (host, 1234)}) == key


def test_the_fly_deployment_takes_the_address_from_flys_own_header():
    import tomllib
    from support.server import REPO_ROOT
    env = tomllib.loads((REPO_ROOT / "fly.toml").read_text())["env"]
    assert env["CLIENT_IP_HEADER"] == "Fly-Client-IP"
    # Only Fly's proxy (IPv4, from Fly's private 172.16.0.0/12) is believed; never
    # every peer, and never the organisation's private IPv6 network (fdaa::/16).
    assert env["FORWARDED_ALLOW_IPS"] == "172.16.0.0/12"
    assert env["HOST"] == "0.0.0.0"


def _make_token(member):
    page = member.get("/-/create-token")
    assert page.status_code == 200
    created = member.post("/-/create-token", data={"expire_type": ""})
    return re.search(r"(dstok_[A-Za-z0-9._-]+)", created.text).group(1)


def _token_actor(server, token):
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"Bearer {token}"}) as scripted:
        return scripted.get("/-/actor.json").json()["actor"]


def test_signing_out_everywhere_also_ends_the_api_tokens_made_before(make_app, team_env):
    """A copied cookie could mint an API token with no expiry; signing out
    everywhere, an admin's sign-out, `files-server signout` and a new password
    must end those tokens too, not only the logins."""
    server = make_app(env=team_env)
    with server.login("bob", "bob-pass") as bob:
        token = _make_token(bob)
        assert _token_actor(server, token)["id"] == "bob"
        assert bob.post("/-/sign-out-everywhere",
                        headers={"Accept": "application/json"}).status_code == 200
    assert _token_actor(server, token) is None
    time.sleep(1.1)  # a token made in the second of a sign-out is refused too
    with server.login("bob", "bob-pass") as bob:
        fresh = _make_token(bob)
    assert _token_actor(server, fresh)["id"] == "bob"
    # The command line, while the server runs: noticed within a few seconds.
    subprocess.run([sys.executable, "-m", "app", "signout", "bob"], cwd=str(REPO_ROOT),
                   env={**os.environ, "DATA_DIR": str(server.data_dir)},
                   capture_output=True, text=True, check=True)
    deadline = time.monotonic() + 10
    while _token_actor(server, fresh) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _token_actor(server, fresh) is None


def test_a_new_password_ends_the_api_tokens_made_with_the_old_one(make_app, team_env):
    server = make_app(env=team_env)
    with server.login("carol", "carol-pass") as carol:
        token = _make_token(carol)
    assert _token_actor(server, token)["id"] == "carol"
    server.env = {**team_env, **member_env("carol", "carols-new-pass")}
    server.restart()
    assert _token_actor(server, token) is None
    # Made with the new password (tokens count whole seconds), a token works.
    time.sleep(1.1)
    with server.login("carol", "carols-new-pass") as carol:
        assert _token_actor(server, _make_token(carol))["id"] == "carol"


def test_behind_the_trusted_proxy_https_and_the_vouched_address_both_hold(make_app, team_env):
    # The proxy's X-Forwarded-Proto is believed alongside its Fly-Client-IP.
    server = make_app(env={**team_env, "FORWARDED_ALLOW_IPS": "127.0.0.1",
                           "CLIENT_IP_HEADER": "Fly-Client-IP"})
    response = httpx.post(server.url + "/-/login",
                          data={"username": "bob", "password": "bob-pass"},
                          headers={"X-Forwarded-Proto": "https", "Fly-Client-IP": "203.0.113.9",
                                   "X-Forwarded-For": "10.1.1.1, 127.0.0.1"})
    assert response.status_code == 302
    assert "Secure" in response.headers["set-cookie"]
    assert "203.0.113.9" in server.wait_for_log("203.0.113.9")
    # Two of them (a client's, then one a proxy appended): the proxy's, the last.
    httpx.get(server.url + "/-/health", headers=[
        ("Fly-Client-IP", "198.51.100.66"), ("Fly-Client-IP", "203.0.113.10")])
    log = server.wait_for_log("203.0.113.10")
    assert "203.0.113.10" in log and "198.51.100.66" not in log
