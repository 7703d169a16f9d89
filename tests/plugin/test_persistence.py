"""Restarts and crashes: files, search and tokens survive; nothing half-done is registered."""

import os
import shutil
import signal
import sqlite3
from pathlib import Path

from support.config import OPEN_PERMISSIONS
from support import api
from support.server import source_config

FIXTURES = Path(__file__).parent.parent / "fixtures"


def config_for(root):
    return {"permissions": OPEN_PERMISSIONS,
            "plugins": {"datasette-files": {"sources": {"keep": source_config(root)}}}}


def test_files_search_and_tokens_survive_a_restart(make_server, tmp_path):
    server = make_server(config_for(tmp_path / "keep"))
    with server.client() as client:
        file = api.upload(client, "keep", "persistent-heron.txt", b"still here")
        client.post(f"/-/files/{file['id']}/-/update", json={"update": {"search_text": "egret"}})
        pending = api.prepare(client, "keep", "later.txt", 5).json()["upload_token"]
        half = api.prepare(client, "keep", "half.txt", 4).json()["upload_token"]
        api.send_raw(client, "keep", half, b"half")
    server.restart()
    with server.client() as client:
        assert client.get(file["download_url"]).content == b"still here"
        assert [f["id"] for f in client.get("/-/files/search.json?q=egret").json()["files"]] == [
            file["id"]]
        assert api.send_raw(client, "keep", pending, b"later").status_code == 200
        assert api.complete(client, "keep", pending).status_code == 201
        assert api.complete(client, "keep", half).json()["file"]["size"] == 4
        assert client.get("/-/files/search.json").json()["total"] == 3


def test_a_crash_mid_upload_registers_nothing_and_the_token_retries(make_server, tmp_path):
    root = tmp_path / "keep"
    server = make_server(config_for(root))
    with server.client() as client:
        token = api.prepare(client, "keep", "crash.bin", 100_000).json()["upload_token"]
    with api.partial_upload(server.port, "keep", token, 100_000, 50_000):
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    server.start()
    with server.client() as client:
        assert client.get("/-/files/search.json").json()["total"] == 0
        assert [f for f in os.listdir(root) if not f.startswith(".")] == []
        api.assert_api_error(api.complete(client, "keep", token), 400, "No file has been uploaded")
        assert api.send_raw(client, "keep", token, b"c" * 100_000).status_code == 200
        assert api.complete(client, "keep", token).json()["file"]["size"] == 100_000


def test_a_data_directory_from_the_first_release_opens(make_server, tmp_path):
    """tests/fixtures/data-0.2.0 was written by datasette-files 0.2.0; every later
    build must open it, migrate it and serve its files."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "data-0.2.0", data)
    server = make_server(config_for(data / "files"), data_dir=data)
    with server.client() as client:
        result = client.get("/-/files/search.json?q=fixture").json()
        assert {f["filename"] for f in result["files"]} == {"fixture-one.txt", "fixture-two.png"}
        one = next(f for f in result["files"] if f["filename"] == "fixture-one.txt")
        assert client.get(one["download_url"]).content == b"written by 0.2.0\n"
        for sort in ("modified", "uploader", "type", "size"):
            for order in ("asc", "desc"):
                listing = client.get(f"/-/files/source/keep?sort={sort}&order={order}&view=list")
                assert listing.status_code == 200, (sort, listing.text[:300])
                assert "fixture-one.txt" in listing.text
        assert "written by 0.2.0" in client.get(f"/-/files/{one['id']}").text
        assert client.post("/-/files/-/preferences", json={"view": "list"}).status_code == 200
    conn = sqlite3.connect(server.internal_db)
    applied = [row[0] for row in conn.execute("SELECT name FROM datasette_files_migrations")]
    conn.close()
    from datasette_files.registry.schema import MIGRATIONS
    assert applied == [name for name, _ in MIGRATIONS]
