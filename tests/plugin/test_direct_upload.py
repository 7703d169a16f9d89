"""Uploads straight to the bucket (a real S3-compatible server: moto's server
mode): prepare answers a presigned POST, or a multipart plan whose parts the
client PUTs to presigned URLs; our server never sees the bytes, and complete
checks what the bucket holds before registering the file."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from support import api
from support.config import OPEN_PERMISSIONS
from support.s3 import needs_moto, s3_env, s3_source, start_moto
from support.s3_direct import PART_SIZE, bucket_for, direct_source

MIB = 1024 * 1024


pytestmark = needs_moto()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def bucket(moto, request):
    return bucket_for(moto, request.node.nodeid)


@pytest.fixture
def make_s3_server(make_server, moto, bucket, tmp_path):
    def make(settings: dict = None, **source_extra):
        return make_server({"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
            "sources": {"bucket": direct_source(moto, bucket, **source_extra)},
            **(settings or {})}}}, data_dir=tmp_path / "data", env=s3_env())
    return make


def post_form(answer: dict, content: bytes, filename: str = "file.bin") -> httpx.Response:
    """Step 2 as the spec says: the upload_fields, then the file in a 'file' field."""
    return httpx.post(answer["upload_url"], data=answer["upload_fields"],
                      files={"file": (filename, content)}, timeout=60)


def key_of(bucket, file_id: str) -> str:
    [key] = [key for key in bucket.keys() if file_id in key]
    return key


def download(client, file: dict) -> bytes:
    response = client.get(file["download_url"], follow_redirects=True)
    assert response.status_code == 200, response.text
    return response.content


def server_requests(log: str) -> list[str]:
    """The access log's lines of requests to the plugin's upload endpoints."""
    return [line for line in log.splitlines() if '/-/files/upload/' in line]


def test_a_spec_client_uploads_straight_to_the_bucket(make_s3_server, bucket, moto):
    server = make_s3_server()
    content = os.urandom(300_000)
    with server.client() as client:
        # Not a PDF or an image: no thumbnail worker starts (its start racing
        # the server's stop is not what this test is about).
        answer = api.prepare(client, "bucket", "report.json", len(content),
                             "application/json").json()
        assert answer["transfer"] == "direct" and answer["upload_method"] == "POST"
        assert answer["upload_url"].startswith(moto.url)
        fields = answer["upload_fields"]
        assert "upload_token" not in fields and "policy" in fields
        assert fields["key"].endswith(".json") and answer["file_id"] in fields["key"]
        assert fields["Content-Type"] == "application/json"
        sent = post_form(answer, content, "report.json")
        assert sent.status_code in (200, 201, 204), sent.text
        completed = api.complete(client, "bucket", answer["upload_token"])
        assert completed.status_code == 201, completed.text
        file = completed.json()["file"]
        assert (file["filename"], file["size"], file["content_type"]) == (
            "report.json", len(content), "application/json")
        # No sha256 was given: the bucket worked it out as complete copied the object
        # from staging into place.
        assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert bucket.get(key_of(bucket, file["id"])) == content
        assert download(client, file) == content
    # Our server saw prepare and complete: never the bytes.
    requests = server_requests(server.wait_for_log("/-/complete"))
    assert [line for line in requests if "/-/upload " in line] == []
    assert [line.split('"')[1] for line in requests] == [
        "POST /-/files/upload/bucket/-/prepare HTTP/1.1",
        "POST /-/files/upload/bucket/-/complete HTTP/1.1"]


def test_a_wrong_size_is_refused_at_complete_and_the_object_removed(make_s3_server, bucket):
    server = make_s3_server()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "notes.txt", 10).json()
        assert answer["transfer"] == "direct"
        # moto does not enforce the policy's content-length-range: complete must.
        assert post_form(answer, b"twelve bytes").status_code < 300
        refused = api.complete(client, "bucket", answer["upload_token"])
        body = api.assert_api_error(refused, 422, "12 bytes", "declared 10 bytes")
        assert (body["stored_size"], body["declared_size"]) == (12, 10)
        assert [key for key in bucket.keys() if answer["file_id"] in key] == []
        # The token lives on: the right bytes complete it.
        assert post_form(answer, b"ten bytes!").status_code < 300
        file = api.complete(client, "bucket", answer["upload_token"]).json()["file"]
        assert file["size"] == 10 and download(client, file) == b"ten bytes!"


def test_a_sha256_given_at_prepare_is_pinned_in_the_policy(make_s3_server):
    server = make_s3_server()
    content = b"checked by the bucket"
    digest = hashlib.sha256(content).digest()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "a.txt", len(content),
                             sha256=digest.hex()).json()
        fields = answer["upload_fields"]
        assert fields["x-amz-checksum-sha256"] == base64.b64encode(digest).decode()
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert {"x-amz-checksum-sha256": fields["x-amz-checksum-sha256"]} in policy["conditions"]
        assert ["content-length-range", len(content), len(content)] in policy["conditions"]
        assert {"key": fields["key"]} in policy["conditions"]
        api.assert_api_error(api.prepare(client, "bucket", "a.txt", 3, sha256="abc"), 400,
                             "'sha256' must be 64 hexadecimal digits")


def test_a_folder_moved_while_the_bytes_travel_takes_the_file(make_s3_server, bucket):
    server = make_s3_server()
    with server.client() as client:
        assert client.post("/-/files/folders/bucket/-/create",
                           json={"folder": "", "name": "Drafts"}).status_code == 201
        answer = api.prepare(client, "bucket", "plan.txt", 4, folder="Drafts").json()
        # The POST stores in staging: complete puts the file where its folder is then.
        assert answer["upload_fields"]["key"] == \
            f".datasette-files-uploads/{answer['file_id']}-plan.txt"
        moved = client.post("/-/files/folders/bucket/-/move",
                            json={"path": "Drafts", "name": "Final"})
        assert moved.status_code == 200, moved.text
        assert post_form(answer, b"plan").status_code < 300  # to the key presigned before
        file = api.complete(client, "bucket", answer["upload_token"]).json()["file"]
        assert client.get(f"/-/files/{file['id']}.json").json()["folder"] == "Final"
        assert download(client, file) == b"plan"
        # The staging key went once its object was copied into place.
        assert [key for key in bucket.keys() if file["id"] in key] == [
            f"Final/{file['id']}-plan.txt"]
        assert bucket.head(f"Final/{file['id']}-plan.txt")["ContentType"] == "text/plain"


def test_with_checksums_off_the_policy_pins_no_checksum(make_server, moto, bucket, tmp_path):
    # Services that refuse checksum headers would refuse every small upload the
    # page sends with its SHA-256.
    source = direct_source(moto, bucket)
    source["config"]["checksums"] = False
    server = make_server({"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
        "sources": {"bucket": source}}}}, data_dir=tmp_path / "data", env=s3_env())
    content = b"no checksum header"
    with server.client() as client:
        answer = api.prepare(client, "bucket", "a.txt", len(content),
                             sha256=hashlib.sha256(content).hexdigest()).json()
        fields = answer["upload_fields"]
        assert not any("checksum" in name for name in fields)
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert not any("checksum" in json.dumps(condition) for condition in policy["conditions"])
        assert post_form(answer, content).status_code < 300
        file = api.complete(client, "bucket", answer["upload_token"]).json()["file"]
        assert download(client, file) == content


def test_an_expired_direct_upload_leaves_nothing_in_staging(make_s3_server, bucket):
    server = make_s3_server({"upload_expiry_seconds": 2, "temp_sweep_interval_seconds": 0.5})
    with server.client() as client:
        answer = api.prepare(client, "bucket", "late.txt", 4).json()
        assert post_form(answer, b"late").status_code < 300
        staged = f".datasette-files-uploads/{answer['file_id']}-late.txt"
        assert bucket.keys(".datasette-files-uploads/") == [staged]
        deadline = time.monotonic() + 15
        while bucket.keys(".datasette-files-uploads/") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert bucket.keys(".datasette-files-uploads/") == []


def test_nothing_uploaded_yet_is_a_clear_error(make_s3_server):
    server = make_s3_server()
    with server.client() as client:
        answer = api.prepare(client, "bucket", "a.txt", 5).json()
        api.assert_api_error(api.complete(client, "bucket", answer["upload_token"]), 400,
                             "No file has been uploaded")


def ask_parts(client, token, numbers=None) -> dict:
    body = {"upload_token": token}
    if numbers is not None:
        body["part_numbers"] = numbers
    response = client.post("/-/files/upload/bucket/-/parts", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def put_part(part: dict, content: bytes) -> None:
    start = (part["part_number"] - 1) * PART_SIZE
    data = content[start:start + part["size"]]
    response = httpx.put(part["url"], content=data, timeout=60)
    assert response.status_code == 200, response.text


def test_a_multipart_upload_resumes_after_an_interruption_and_a_restart(make_s3_server,
                                                                         bucket):
    server = make_s3_server()
    content = os.urandom(2 * PART_SIZE + 123_456)
    with server.client() as client:
        answer = api.prepare(client, "bucket", "video.mp4", len(content),
                             multipart=True).json()
        assert answer["transfer"] == "multipart"
        plan = answer["multipart"]
        assert (plan["part_size"], plan["part_count"]) == (PART_SIZE, 3)
        assert plan["parts_url"].endswith("/-/files/upload/bucket/-/parts")
        token = answer["upload_token"]
        first = ask_parts(client, token, [1, 2])
        assert first["uploaded"] == [] and [p["size"] for p in first["parts"]] == [PART_SIZE] * 2
        put_part(first["parts"][0], content)  # then the connection drops
    server.restart()
    with server.client() as client:
        resumed = ask_parts(client, token)
        assert [(p["part_number"], p["size"]) for p in resumed["uploaded"]] == [(1, PART_SIZE)]
        assert resumed["uploaded_bytes"] == PART_SIZE
        early = api.complete(client, "bucket", token)
        body = api.assert_api_error(early, 409, "2 of the 3 parts", "part 2")
        assert body["missing_parts"] == [2, 3]
        rest = ask_parts(client, token, [2, 3])
        assert rest["parts"][1]["size"] == 123_456
        for part in rest["parts"]:
            put_part(part, content)
        completed = api.complete(client, "bucket", token)
        assert completed.status_code == 201, completed.text
        file = completed.json()["file"]
        assert file["size"] == len(content)
        assert download(client, file) == content
        assert bucket.multipart_uploads() == []
        api.assert_api_error(client.post("/-/files/upload/bucket/-/parts",
                                         json={"upload_token": token}), 409, "already")


def test_part_urls_sign_their_size(make_s3_server):
    server = make_s3_server()
    with server.client() as client:
        token = api.prepare(client, "bucket", "big.bin", PART_SIZE + 1000,
                            multipart=True).json()["upload_token"]
        for part in ask_parts(client, token, [1, 2])["parts"]:
            query = httpx.URL(part["url"]).params
            assert "content-length" in query["X-Amz-SignedHeaders"].split(";"), part["url"]


def test_a_multipart_upload_aborted_at_the_bucket_is_gone_at_complete(make_s3_server,
                                                                       bucket):
    server = make_s3_server()
    content = os.urandom(PART_SIZE + 10)
    with server.client() as client:
        token = api.prepare(client, "bucket", "gone.bin", len(content),
                            multipart=True).json()["upload_token"]
        for part in ask_parts(client, token, [1, 2])["parts"]:
            put_part(part, content)
        [upload] = bucket.multipart_uploads()
        bucket.client.abort_multipart_upload(Bucket=bucket.name, Key=upload["Key"],
                                             UploadId=upload["UploadId"])
        api.assert_api_error(api.complete(client, "bucket", token), 410,
                             "no longer has this multipart upload")


def test_a_part_of_the_wrong_size_is_named_at_complete(make_s3_server, bucket):
    server = make_s3_server()
    content = os.urandom(PART_SIZE + 1000)
    with server.client() as client:
        token = api.prepare(client, "bucket", "big.bin", len(content),
                            multipart=True).json()["upload_token"]
        first, last = ask_parts(client, token, [1, 2])["parts"]
        assert httpx.put(first["url"], content=content[:1000], timeout=60).status_code == 200
        put_part(last, content)
        body = api.assert_api_error(api.complete(client, "bucket", token), 409,
                                    "Part 1 holds 1000 bytes but should hold")
        assert body["wrong_parts"] == [1]
        put_part(first, content)  # sent again, whole
        file = api.complete(client, "bucket", token).json()["file"]
        assert download(client, file) == content


def test_two_completes_at_once_register_the_file_once(make_s3_server, bucket):
    server = make_s3_server()
    content = os.urandom(PART_SIZE + 10)
    with server.client() as client:
        token = api.prepare(client, "bucket", "twice.bin", len(content),
                            multipart=True).json()["upload_token"]
        for part in ask_parts(client, token, [1, 2])["parts"]:
            put_part(part, content)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: server.client().post(
            "/-/files/upload/bucket/-/complete", json={"upload_token": token}), range(4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 409, 409, 409], [answer.text for answer in answers]
    with server.client() as client:
        listed = client.get("/-/files/source/bucket.json").json()["files"]
        assert [file["filename"] for file in listed] == ["twice.bin"]


def test_an_expired_token_aborts_its_multipart_upload(make_s3_server, bucket):
    server = make_s3_server({"upload_expiry_seconds": 2, "temp_sweep_interval_seconds": 0.5})
    content = os.urandom(PART_SIZE + 10)
    with server.client() as client:
        answer = api.prepare(client, "bucket", "big.bin", len(content), multipart=True).json()
        token = answer["upload_token"]
        put_part(ask_parts(client, token, [1])["parts"][0], content)
        assert len(bucket.multipart_uploads()) == 1
        deadline = time.monotonic() + 15
        while bucket.multipart_uploads() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert bucket.multipart_uploads() == []
        api.assert_api_error(client.post("/-/files/upload/bucket/-/parts",
                                         json={"upload_token": token}), 404, "Unknown")


def test_expiry_alone_aborts_the_multipart_upload(moto, bucket, tmp_path, monkeypatch):
    """tokens.expire by itself, with no storage sweep (which aborts abandoned
    uploads too, but only after 15 minutes on a real bucket)."""
    from datasette.app import Datasette

    from datasette_files.registry import Registry
    from datasette_files.sources import Source, Sources
    from datasette_files.storage.s3 import S3CompatibleStorage
    from datasette_files.uploads import UploadSessions, direct
    from datasette_files.uploads.tokens import expire, prepare

    for name, value in s3_env().items():
        monkeypatch.setenv(name, value)

    async def run():
        registry = Registry(Datasette(internal=str(tmp_path / "internal.db"))
                            .get_internal_database())
        await registry.migrate()
        storage = S3CompatibleStorage()
        await storage.configure(direct_source(moto, bucket)["config"], None)
        await storage.check_at_start(writable=True)
        source = Source("bucket", "s3-compatible", storage)
        upload = await prepare(registry, source, None, {"filename": "big.bin",
                               "size": PART_SIZE + 1, "multipart": True}, expiry_seconds=1)
        await direct.parts(registry, source, upload, [])
        begun = bucket.multipart_uploads()
        time.sleep(1.1)
        expired = await expire(registry, Sources([source]), UploadSessions())
        await storage.close()
        return begun, expired

    begun, expired = asyncio.run(run())
    assert len(begun) == 1 and expired == 1
    assert bucket.multipart_uploads() == []


def test_a_source_with_direct_uploads_off_takes_the_bytes_itself(make_s3_server, bucket):
    server = make_s3_server(direct_uploads=False)
    with server.client() as client:
        answer = api.prepare(client, "bucket", "a.txt", 5, multipart=True).json()
        assert answer["transfer"] == "server" and "multipart" not in answer
        assert answer["upload_url"].endswith("/-/files/upload/bucket/-/upload")
        file = api.upload(client, "bucket", "a.txt", b"hello")
        assert bucket.get(key_of(bucket, file["id"])) == b"hello"


def test_bad_multipart_requests_are_json_errors(make_s3_server):
    server = make_s3_server()
    with server.client() as client:
        api.assert_api_error(api.prepare(client, "bucket", "a.bin", None, multipart=True),
                             400, "'size' is required")
        api.assert_api_error(api.prepare(client, "bucket", "a.bin", 9, multipart="yes"),
                             400, "'multipart' must be true or false")
        direct = api.prepare(client, "bucket", "a.bin", 9).json()["upload_token"]
        api.assert_api_error(client.post("/-/files/upload/bucket/-/parts",
                                         json={"upload_token": direct}), 400,
                             "not a multipart upload")
        token = api.prepare(client, "bucket", "b.bin", PART_SIZE + 1,
                            multipart=True).json()["upload_token"]
        for numbers, message in ((["1"], "list of part numbers"), ([0], "from 1 to 2"),
                                 ([3], "from 1 to 2"), ("1", "list of part numbers")):
            api.assert_api_error(client.post("/-/files/upload/bucket/-/parts", json={
                "upload_token": token, "part_numbers": numbers}), 400, message)
        api.assert_api_error(client.post("/-/files/upload/bucket/-/parts", json={}), 400,
                             "'upload_token' is required")
        api.assert_api_error(api.complete(client, "bucket", token), 400,
                             "No part of this upload")


def test_a_service_without_post_object_takes_every_direct_upload_in_parts(
        make_server, moto, bucket, tmp_path):
    """Cloudflare R2 has no POST Object: with ``presigned_post: false`` a file of
    any size goes in presigned parts (one part for a small file), a spec client
    that knows nothing of parts still uploads through the server, and an empty
    file, which cannot be a part, goes through the server."""
    source = s3_source(moto.url, bucket.name, part_size=PART_SIZE, cors_origins=["*"],
                       manage_cors=True, presigned_post=False)
    server = make_server({"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
        "sources": {"bucket": source}}}}, data_dir=tmp_path / "data", env=s3_env())
    content = os.urandom(1000)
    with server.client() as client:
        answer = api.prepare(client, "bucket", "note.txt", len(content)).json()
        assert answer["transfer"] == "multipart", answer
        assert answer["multipart"]["part_count"] == 1
        assert answer["upload_url"].endswith("/-/files/upload/bucket/-/upload")
        [part] = ask_parts(client, answer["upload_token"], [1])["parts"]
        put_part(part, content)
        done = api.complete(client, "bucket", answer["upload_token"])
        assert done.status_code == 201, done.text
        assert download(client, done.json()["file"]) == content
        # A spec client: sends the bytes to upload_url as the spec says.
        spec = api.upload(client, "bucket", "spec.txt", b"through the server")
        assert download(client, spec) == b"through the server"
        empty = api.prepare(client, "bucket", "empty.txt", 0).json()
        assert empty["transfer"] == "server", empty
