"""Slow clients are cut off: a stalled request body, request headers that never
end, and more connections than the server may hold."""

import os
import socket

import httpx
import pytest

from support.slow import (
    json_errors,
    read_response,
    read_until_closed,
    start_request,
    wait_until,
)

MIB = 1024 * 1024
CAP = 20
# Short timeouts, so the tests do not wait a minute.
SLOW_CLIENT_ENV = {"REQUEST_BODY_TIMEOUT": "2", "REQUEST_HEADER_TIMEOUT": "2",
                   "MAX_CONNECTIONS": str(CAP)}


def open_fds(server) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def admin_cookie(server) -> str:
    with server.login("admin", server.generated_admin_password()) as admin:
        return f"ds_actor={admin.cookies['ds_actor']}"


def test_a_put_whose_body_stalls_is_cut_off_and_leaves_nothing(make_app):
    server = make_app(env=SLOW_CLIENT_ENV)
    cookie = admin_cookie(server)
    temp = server.data_dir / "files" / "team" / ".datasette-files-tmp"
    # 5 of 8 MiB, then nothing: past the first 4 MiB batch, so a temporary file exists.
    with start_request(server.port, "PUT", "/-/files/upload/team/stalled.bin",
                       {"Cookie": cookie, "Content-Length": 8 * MIB},
                       os.urandom(5 * MIB), timeout=20) as sock:
        status, headers, body = read_response(sock)
        assert status == 408, body
        assert "nothing for 2 seconds" in json_errors(body)
        assert headers["connection"] == "close"
        assert read_until_closed(sock) in (b"", None)
    assert os.listdir(temp) == []
    with httpx.Client(base_url=server.url, headers={"Cookie": cookie}) as client:
        assert client.get("/-/files/search.json?q=stalled").json()["total"] == 0
        # A body that keeps coming is not cut, however long it takes in all.
        response = client.put("/-/files/upload/team/steady.bin", content=b"s" * MIB)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("protocol", ["auto", "h11"])
def test_partial_headers_beyond_the_cap_are_refused_and_closed(make_app, protocol):
    server = make_app(env={**SLOW_CLIENT_ENV, "HTTP_PROTOCOL": protocol})
    assert httpx.get(server.url + "/-/health").status_code == 200
    before = open_fds(server)
    attackers = [socket.create_connection(("127.0.0.1", server.port), timeout=30)
                 for _ in range(3 * CAP)]
    for sock in attackers:  # headers that never end
        sock.sendall(b"GET /-/health HTTP/1.1\r\nHost: test\r\nX-Never-Ending: ")
    # Served during the attack: it takes the place of the connection that waited longest.
    for _ in range(3):
        assert httpx.get(server.url + "/-/health").status_code == 200
    assert open_fds(server) <= before + CAP + 5
    answers = set()
    for sock in attackers:
        with sock:
            received = read_until_closed(sock)
        answers.add(received.split(b" ")[1] if received else received)
    # Refused (503) beyond the cap, or timed out (408) at the header deadline.
    assert answers <= {b"503", b"408", b"", None}, answers
    assert b"503" in answers and b"408" in answers, answers
    wait_until(lambda: open_fds(server) <= before + 2, what="the descriptors to be closed")
    assert httpx.get(server.url + "/-/health").status_code == 200


def test_a_connection_beyond_a_cap_of_busy_requests_gets_503(make_app):
    server = make_app(env={**SLOW_CLIENT_ENV, "REQUEST_BODY_TIMEOUT": "60"})
    cookie = admin_cookie(server)
    # Requests whose bodies are still to come are never made to give way.
    busy = [start_request(server.port, "POST", "/-/files/upload/team/-/prepare",
                          {"Cookie": cookie, "Content-Type": "application/json",
                           "Content-Length": 100, "Expect": "100-continue"})
            for _ in range(CAP)]
    for sock in busy:  # the view is reading the body: the request is under way
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
    refused = httpx.get(server.url + "/-/health")
    assert refused.status_code == 503
    assert refused.json()["ok"] is False and "connections" in refused.json()["errors"][0]
    for sock in busy:
        sock.close()
    wait_until(lambda: httpx.get(server.url + "/-/health").status_code == 200,
               what="a free connection")


def test_the_connection_cap_defaults_from_the_descriptor_limit():
    from app.settings import Settings, default_max_connections

    assert default_max_connections(1024) == 448
    assert default_max_connections(20000) == 1000
    assert default_max_connections(100) >= 1
    settings = Settings.from_environment({})
    assert settings.request_body_timeout == 60 and settings.request_header_timeout == 20
    assert settings.max_connections == default_max_connections()
    with pytest.raises(ValueError, match="MAX_CONNECTIONS"):
        Settings.from_environment({"MAX_CONNECTIONS": "0"})


@pytest.mark.parametrize("path,content_type", [
    ("/-/login", "application/x-www-form-urlencoded"),
    ("/-/files/upload/team/-/prepare", "application/json")])
def test_any_stalled_body_is_cut_off_with_a_408(make_app, path, content_type):
    server = make_app(env=SLOW_CLIENT_ENV)
    cookie = admin_cookie(server)
    with start_request(server.port, "POST", path,
                       {"Cookie": cookie, "Content-Type": content_type, "Content-Length": 100},
                       b"username=adm", timeout=20) as sock:
        status, headers, body = read_response(sock)
    assert status == 408 and headers["connection"] == "close", body
    assert "nothing for 2 seconds" in json_errors(body)
