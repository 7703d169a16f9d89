"""The built-in ``s3-compatible`` storage over a real S3-compatible server
(moto's server mode, a subprocess on loopback), through the HTTP API of a real
Datasette server: uploads of every kind, downloads redirected to presigned
URLs, thumbnails, search, sync of objects already in a bucket, rename, move,
trash, a read-only bucket, CORS rules, and what a failed upload leaves.

One moto server and one Datasette server serve the module; each test has its
own bucket or prefix.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import urllib.parse

import httpx
import pytest
from PIL import Image

from support import api
from support.config import ALICE
from support.s3 import S3Admin, needs_moto, s3_env, s3_source
from support.s3_fixtures import moto, s3_server_config  # noqa: F401
from support.server import DatasetteServer, assert_no_server_errors, source_config

pytestmark = needs_moto()
ORIGIN = "http://files.example.test"


def png(width: int, height: int, colour: tuple) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def team(moto):
    """The writable source's bucket: files under team/."""
    return S3Admin(moto.url, "team-files").create()


@pytest.fixture(scope="module")
def archive(moto):
    """A read-only source's bucket, with files put there by another tool."""
    bucket = S3Admin(moto.url, "old-archive").create()
    bucket.put("reports/2023.csv", b"year,total\n2023,7\n")
    bucket.put("readme.txt", b"the archive\n")
    return bucket


@pytest.fixture(scope="module")
def shared(moto):
    """A writable source over a bucket that already holds files (sync tests)."""
    return S3Admin(moto.url, "shared-drive").create()


def config_for(moto, **sources) -> dict:
    return s3_server_config(sources)


@pytest.fixture(scope="module")
def server(moto, team, archive, shared, tmp_path_factory):
    config = config_for(
        moto,
        team=s3_source(moto.url, team.name, "team", cors_origins=[ORIGIN], manage_cors=True),
        archive={**s3_source(moto.url, archive.name, cors_origins=[ORIGIN]), "read_only": True},
        shared=s3_source(moto.url, shared.name, "drive/"),
        local=source_config(tmp_path_factory.mktemp("local-files")))
    server = DatasetteServer(tmp_path_factory.mktemp("s3-storage"), config,
                             env=s3_env()).start()
    with server.client(ALICE) as client:  # the syncs at start, out of the tests' way
        for slug in ("team", "archive", "shared", "local"):
            api.wait_for_sync(client, slug)
    yield server
    server.stop()
    assert_no_server_errors(server)


def resync(client, slug: str) -> dict:
    response = client.post(f"/-/files/sync/{slug}")
    assert response.status_code == 202, response.text
    return api.wait_for_sync(client, slug)


def files_of(client, slug: str) -> dict:
    """path -> file object of every file of source ``slug``."""
    found = client.get("/-/files/search.json", params={"source": slug, "limit": 500}).json()
    return {(f["folder"] + "/" if f["folder"] else "") + f["filename"]: f
            for f in found["files"]}


def key_of(bucket: S3Admin, file_id: str) -> str:
    [key] = [k for k in bucket.keys() if file_id in k]
    return key


def test_sources_report_the_type_and_capabilities(server):
    with server.client(ALICE) as client:
        sources = {s["slug"]: s for s in client.get("/-/files/sources.json").json()["sources"]}
    team = sources["team"]
    assert team["storage_type"] == "s3-compatible" and team["healthy"] is True
    assert team["capabilities"]["can_generate_signed_urls"] is True
    assert team["capabilities"]["requires_proxy_download"] is False
    assert sources["archive"]["capabilities"]["read_only"] is True


def test_upload_download_thumbnail_search_and_trash(server, team):
    content = png(60, 40, (200, 20, 20))
    with server.client(ALICE) as client:
        prepared = api.prepare(client, "team", "rød square.png", len(content), "image/png")
        assert prepared.status_code == 200, prepared.text
        token = prepared.json()["upload_token"]
        assert api.send_multipart(client, "team", token, content).status_code == 200
        completed = api.complete(client, "team", token)
        assert completed.status_code == 201, completed.text
        file = completed.json()["file"]
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert (file["width"], file["height"], file["size"]) == (60, 40, len(content))

        # The object, under the prefix, with the file's id and record beside the bytes.
        key = key_of(team, file["id"])
        assert key.startswith("team/") and team.get(key) == content
        head = team.head(key)
        assert head["Metadata"]["datasette-files-id"] == file["id"]
        assert json.loads(head["Metadata"]["datasette-files"]) == {
            "filename": "rød square.png", "content_type": "image/png", "uploaded_by": "alice"}

        # The download redirects to a presigned GET that forces an attachment
        # named as registered, of the registered type.
        redirect = client.get(file["download_url"])
        assert redirect.status_code == 302, redirect.text
        location = redirect.headers["location"]
        assert location.startswith(f"{team.endpoint}/{team.name}/{key}?")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["response-content-disposition"] == [
            "attachment; filename=\"r_d square.png\"; filename*=UTF-8''r%C3%B8d%20square.png"]
        assert query["response-content-type"] == ["image/png"]
        fetched = httpx.get(location)
        assert fetched.status_code == 200 and fetched.content == content
        assert fetched.headers["content-disposition"].startswith("attachment;")
        assert fetched.headers["content-type"] == "image/png"

        # Inline, the bytes stream through the server (sandboxed), in ranges too.
        inline = client.get(f"/-/files/{file['id']}/-/image")
        assert inline.status_code == 200 and inline.content == content
        ranged = client.get(f"/-/files/{file['id']}/-/image", headers={"Range": "bytes=1-3"})
        assert ranged.status_code == 206 and ranged.content == content[1:4]

        # The thumbnail is drawn from the object's bytes: the square's red.
        thumbnail = client.get(file["thumbnail_url"])
        assert thumbnail.status_code == 200
        red, green, blue = Image.open(io.BytesIO(thumbnail.content)).convert(
            "RGB").getpixel((5, 5))
        assert red > 150 and green < 80 and blue < 80

        found = client.get("/-/files/search.json", params={"q": "square"}).json()
        assert [f["id"] for f in found["files"]] == [file["id"]]
        assert client.get(f"/-/files/{file['id']}.json").json()["content_hash"] == \
            file["content_hash"]

        # A file in the trash keeps its object where it is; restored, it is back.
        deleted = client.post(f"/-/files/{file['id']}/-/delete", json={})
        assert deleted.status_code == 200, deleted.text
        trash = deleted.json()["trash"]
        assert client.get(file["download_url"]).status_code == 404
        restored = client.post(trash["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert team.get(key) == content
        assert client.get(file["download_url"]).status_code == 302

        # Purged: the object is gone.
        trash = client.post(f"/-/files/{file['id']}/-/delete", json={}).json()["trash"]
        assert client.post(trash["purge_url"], json={}).status_code == 200
        assert not [k for k in team.keys() if file["id"] in k]
        assert client.get(f"/-/files/{file['id']}.json").status_code == 404


def test_put_raw_and_batch_uploads(server, team):
    with server.client(ALICE) as client:
        put = client.put("/-/files/upload/team/notes.txt", content=b"minutes\n")
        assert put.status_code == 201, put.text
        raw = api.upload(client, "team", "table.csv", b"a,b\n1,2\n", "text/csv", raw=True)
        batch = api.upload_many(client, "team", [("one.txt", b"1"), ("two.txt", b"22")])
        for file, content in ((put.json()["file"], b"minutes\n"), (raw, b"a,b\n1,2\n"),
                              (batch[0], b"1"), (batch[1], b"22")):
            assert team.get(key_of(team, file["id"])) == content
            assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
            assert httpx.get(client.get(file["download_url"]).headers["location"]).content \
                == content


def test_rename_and_move_files_and_folders(server, team):
    with server.client(ALICE) as client:
        for name in ("Reports", "Done"):
            made = client.post("/-/files/folders/team/-/create", json={"name": name})
            assert made.status_code in (200, 201), made.text
        # Folders are marker objects, as S3 consoles make them.
        assert {"team/Reports/", "team/Done/"} <= set(team.keys("team/"))
        file = api.upload(client, "team", "draft.txt", b"draft", folder="Reports")
        assert key_of(team, file["id"]).startswith("team/Reports/")

        renamed = client.post(f"/-/files/{file['id']}/-/rename", json={"filename": "final.txt"})
        assert renamed.status_code == 200, renamed.text
        key = key_of(team, file["id"])
        assert key.startswith("team/Reports/") and key.endswith("-final.txt")
        assert json.loads(team.head(key)["Metadata"]["datasette-files"])["filename"] == \
            "final.txt"

        moved = client.post(f"/-/files/{file['id']}/-/move", json={"folder": "Done"})
        assert moved.status_code == 200, moved.text
        assert key_of(team, file["id"]).startswith("team/Done/")

        folder = client.post("/-/files/folders/team/-/move",
                             json={"path": "Done", "name": "Archive 2025"})
        assert folder.status_code == 200, folder.text
        key = key_of(team, file["id"])
        assert key.startswith("team/Archive 2025/") and team.get(key) == b"draft"
        assert not [k for k in team.keys("team/") if k.startswith("team/Done/")]
        assert client.get(f"/-/files/{file['id']}.json").json()["folder"] == "Archive 2025"
        assert httpx.get(client.get(file["download_url"]).headers["location"]).content == \
            b"draft"
        # To a folder on disk and back: streamed out of the bucket, then into it.
        away = client.post(f"/-/files/{file['id']}/-/move", json={"source": "local"})
        assert away.status_code == 200, away.text
        assert not [k for k in team.keys() if file["id"] in k]
        back = client.post(f"/-/files/{file['id']}/-/move",
                           json={"source": "team", "folder": "Archive 2025"})
        assert back.status_code == 200, back.text
        assert team.get(key_of(team, file["id"])) == b"draft"
        assert json.loads(team.head(key_of(team, file["id"]))["Metadata"]["datasette-files"]) \
            == {"filename": "final.txt", "content_type": "text/plain", "uploaded_by": "alice"}
        key = key_of(team, file["id"])

        # A folder in the trash moves into the hidden trash folder, and back.
        trashed = client.post("/-/files/folders/team/-/delete", json={"path": "Archive 2025"})
        assert trashed.status_code == 200, trashed.text
        assert key_of(team, file["id"]).startswith("team/.datasette-files-trash/")
        restored = client.post(trashed.json()["trash"]["restore_url"], json={})
        assert restored.status_code == 200, restored.text
        assert key_of(team, file["id"]) == key
        # Nothing was left twice for a sync to find.
        status = resync(client, "team")
        assert (status["sync"]["added"], status["sync"]["removed"]) == (0, 0)


def test_sync_keeps_ids_across_resyncs_and_a_rebuilt_registry(server, shared, moto,
                                                               tmp_path):
    shared.put("drive/plans/site.txt", b"site plan")
    shared.put("drive/budget.csv", b"a,b\n")
    shared.put("drive/a/b/c/deep.txt", b"deep")
    # Skipped: hidden names, keys no path names, keys outside the prefix.
    shared.put("drive/.hidden", b"x")
    shared.put("drive/.cache/x.bin", b"x")
    shared.put("drive/odd//name.txt", b"x")
    shared.put("elsewhere.txt", b"outside the prefix")
    with server.client(ALICE) as client:
        status = resync(client, "shared")
        assert status["sync"]["added"] == 3, status
        before = files_of(client, "shared")
        assert set(before) == {"plans/site.txt", "budget.csv", "a/b/c/deep.txt"}
        uploaded = api.upload(client, "shared", "Ünïcode report.txt", b"ours")
        assert resync(client, "shared")["sync"]["added"] == 0
        again = files_of(client, "shared")
        assert {p: f["id"] for p, f in again.items() if p in before} == \
            {p: f["id"] for p, f in before.items()}
        assert again["plans/site.txt"]["content_hash"] == \
            "sha256:" + hashlib.sha256(b"site plan").hexdigest()

    # A new registry (a lost database) over the same bucket: the file we stored
    # comes back with its id, display name and uploader, from its metadata.
    config = config_for(moto, shared=s3_source(moto.url, shared.name, "drive/"))
    config["plugins"]["datasette-files"]["sync_on_start"] = False
    rebuilt = DatasetteServer(tmp_path / "rebuilt", config, env=s3_env()).start()
    try:
        with rebuilt.client(ALICE) as client:
            resync(client, "shared")
            found = files_of(client, "shared")
            ours = found["Ünïcode report.txt"]
            assert (ours["id"], ours["uploaded_by"]) == (uploaded["id"], "alice")
    finally:
        rebuilt.stop()
    assert_no_server_errors(rebuilt)


def test_read_only_bucket_is_never_written(server, archive, moto):
    keys = archive.keys()
    writes_before = _writes_to(moto, archive.name)
    with server.client(ALICE) as client:
        resync(client, "archive")
        found = files_of(client, "archive")
        assert set(found) == {"reports/2023.csv", "readme.txt"}
        location = client.get(found["readme.txt"]["download_url"]).headers["location"]
        assert httpx.get(location).content == b"the archive\n"
        api.assert_api_error(client.put("/-/files/upload/archive/x.txt", content=b"x"), 403)
        api.assert_api_error(client.post(f"/-/files/{found['readme.txt']['id']}/-/delete",
                                         json={}), 403)
        source = [s for s in client.get("/-/files/sources.json").json()["sources"]
                  if s["slug"] == "archive"][0]
        assert source["healthy"] is True  # checked without a write probe
    assert archive.keys() == keys
    assert _writes_to(moto, archive.name) == writes_before
    assert archive.cors_rules() == []  # never set on a read-only source


def _writes_to(moto, bucket: str) -> list[str]:
    """The PUT, POST and DELETE requests moto logged for ``bucket`` (the
    bucket's creation and the test's own puts included)."""
    return re.findall(rf'"(?:PUT|POST|DELETE) /{bucket}[/?"][^"]*"', moto.log())


def test_cors_rules_set_or_checked_at_start(server, team, archive):
    [rule] = team.cors_rules()
    assert rule["AllowedOrigins"] == [ORIGIN]
    assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "POST", "PUT"]
    assert rule["AllowedHeaders"] == ["*"] and rule["ExposeHeaders"] == ["ETag"]
    log = server.wait_for_log("CORS rules do not let browsers")
    assert f"bucket {archive.name}'s CORS rules do not let browsers transfer directly: " \
           f"no rule allows origin {ORIGIN}" in log
    assert f"bucket {team.name}'s CORS" not in log
