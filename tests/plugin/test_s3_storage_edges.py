"""The s3-compatible storage at its edges, over a real moto server: where the
credentials come from (and where they may not), start-up refusals, uploads
that fail half-way, a large upload's memory, and what a crash or a killed
upload leaves in the bucket.

Some tests drive the storage class in this process (the same aiobotocore
client a server uses) against moto, where a server could not be stopped at
the right moment: between a move's copy and its delete, say.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import httpx
import pytest

from datasette_files.base import FileMissing, FileRecord, StorageUnavailable, UnsafePath
from datasette_files.errors import ConfigError
from datasette_files.storage.s3 import S3CompatibleStorage, moves, reads

from support import api
from support.config import ALICE
from support.s3 import CREDENTIALS, S3Admin, needs_moto, s3_env, s3_source
from support.s3_fixtures import moto, s3_bucket, s3_server, s3_server_config  # noqa: F401
from support.server import DatasetteServer, actor_cookie, assert_no_server_errors, free_port

pytestmark = needs_moto()
MiB = 1024 * 1024
DUPLICATE_TYPE_PLUGIN = '''
from datasette import hookimpl
from datasette_files.base import Storage


class ImpostorStorage(Storage):
    storage_type = "s3-compatible"


@hookimpl
def register_files_storage_types(datasette):
    return [ImpostorStorage]
'''


@pytest.fixture
def bucket(s3_bucket):
    return s3_bucket


def config_for(**sources) -> dict:
    return s3_server_config(sources)


def no_aws_env() -> dict:
    """Blank AWS variables, so only the config's secrets can give credentials."""
    return {name: "" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                  "AWS_SESSION_TOKEN")}


def start_fails(tmp_path, config: dict, env: dict | None = None,
                extra_args: list | None = None) -> str:
    server = DatasetteServer(tmp_path, config, extra_args, env={**s3_env(), **(env or {})})
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert server.process.returncode == 1
    return str(failure.value)


def test_credentials_from_datasette_secrets(moto, bucket, tmp_path):
    config = config_for(team=s3_source(moto.url, bucket.name,
                                       access_key_id_secret="TEAM_KEY_ID",
                                       secret_access_key_secret="TEAM_SECRET_KEY",
                                       region="us-east-1"))
    env = {**no_aws_env(), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "DATASETTE_SECRETS_TEAM_KEY_ID": CREDENTIALS["access_key_id"],
           "DATASETTE_SECRETS_TEAM_SECRET_KEY": "a-secret-never-logged"}
    server = DatasetteServer(tmp_path / "server", config, env=env).start()
    try:
        with server.client(ALICE) as client:
            file = api.upload(client, "team", "a.txt", b"through secrets")
            assert bucket.get(bucket.keys()[0]) == b"through secrets"
            location = client.get(file["download_url"]).headers["location"]
            assert f"X-Amz-Credential={CREDENTIALS['access_key_id']}" in location
            assert httpx.get(location).content == b"through secrets"
    finally:
        server.stop()
    assert "a-secret-never-logged" not in server.log()
    assert_no_server_errors(server)


def test_credentials_in_the_config_file_are_refused(moto, bucket, tmp_path):
    log = start_fails(tmp_path, config_for(team=s3_source(
        moto.url, bucket.name, access_key_id="AKIA-LEAKED", secret_access_key="leaked")))
    assert "source 'team': 'access_key_id' must not be in the config file: put the " \
           "credential in a datasette-secrets secret" in log
    assert "AWS_ACCESS_KEY_ID" in log and "leaked" not in log.replace("'access_key_id'", "")


def test_a_secret_that_is_not_set_stops_start_up(moto, bucket, tmp_path):
    log = start_fails(tmp_path, config_for(team=s3_source(
        moto.url, bucket.name, access_key_id_secret="NOPE_ID",
        secret_access_key_secret="NOPE_SECRET")))
    assert "access_key_id_secret names the secret 'NOPE_ID', which is not set" in log


def test_a_missing_bucket_stops_start_up(moto, tmp_path):
    log = start_fails(tmp_path, config_for(team=s3_source(moto.url, "no-such-bucket")))
    assert "source 'team': bucket 'no-such-bucket' does not exist" in log


def test_two_classes_claiming_one_storage_type_stop_start_up(moto, bucket, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "impostor.py").write_text(DUPLICATE_TYPE_PLUGIN)
    log = start_fails(tmp_path, config_for(team=s3_source(moto.url, bucket.name)),
                      extra_args=["--plugins-dir", str(plugins)])
    assert "two storage classes claim the storage type 's3-compatible': " in log
    assert "datasette_files.storage.s3.S3CompatibleStorage" in log
    assert "ImpostorStorage" in log


@pytest.fixture
def server(s3_server):
    return s3_server()


def test_a_failed_upload_leaves_no_object_nor_open_multipart_upload(server, bucket):
    with server.client(ALICE) as client:
        token = api.prepare(client, "team", "cut.bin", 20 * MiB).json()["upload_token"]
        # 12 MiB of 20: one 8 MiB part went to the bucket before the connection dropped.
        cookie = {"Cookie": f"ds_actor={actor_cookie(ALICE)}"}
        with api.partial_upload(server.port, "team", token, 20 * MiB, 12 * MiB, cookie):
            deadline = time.monotonic() + 10
            while not bucket.multipart_uploads() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert bucket.multipart_uploads(), "the upload should be under way"
        deadline = time.monotonic() + 10
        while bucket.multipart_uploads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bucket.multipart_uploads() == [] and bucket.keys() == []
        # A refused size leaves nothing either (a single PUT, then removed).
        token = api.prepare(client, "team", "sized.bin", 100).json()["upload_token"]
        api.assert_api_error(api.send_raw(client, "team", token, b"x" * 50), 400)
        assert bucket.keys() == []


def test_a_large_upload_streams_through_in_bounded_memory(server, bucket):
    size = 64 * MiB
    before = server.peak_rss_kib()

    def body():
        block = os.urandom(MiB)
        for _ in range(size // MiB):
            yield block

    with server.client(ALICE) as client:
        token = api.prepare(client, "team", "big.bin", size).json()["upload_token"]
        sent = api.send_raw(client, "team", token, body())
        assert sent.status_code == 200, sent.text
        file = api.complete(client, "team", token).json()["file"]
    grown_mib = (server.peak_rss_kib() - before) / 1024
    print(f"peak RSS grew by {grown_mib:.1f} MiB for a 64 MiB upload")
    # About three 8 MiB parts (one received, one sent and the HTTP library's
    # copy of it; a fourth when the socket to the bucket is slow), and the
    # server's own buffers: never the whole file (25 MiB measured here).
    assert grown_mib < 40, f"the server grew by {grown_mib:.1f} MiB for a 64 MiB upload"
    [key] = bucket.keys()
    assert bucket.head(key)["ContentLength"] == size and bucket.head(key)["ETag"].endswith('-8"')
    assert file["size"] == size


# The storage in this process -----------------------------------------------------


def storage_for(moto, bucket: S3Admin, prefix: str = "p/", **config) -> S3CompatibleStorage:
    storage = S3CompatibleStorage()
    asyncio.run(_configure(storage, moto, bucket, prefix, config))
    return storage


async def _configure(storage, moto, bucket, prefix, config):
    secrets = {"KEY_ID": CREDENTIALS["access_key_id"],
               "SECRET_KEY": CREDENTIALS["secret_access_key"]}

    async def get_secret(name):
        return secrets.get(name)

    await storage.configure({"bucket": bucket.name, "prefix": prefix, "endpoint_url": moto.url,
                             "region": CREDENTIALS["region"], "access_key_id_secret": "KEY_ID",
                             "secret_access_key_secret": "SECRET_KEY", **config}, get_secret)


def test_a_move_cut_short_between_copy_and_delete_is_finished_by_its_undo(moto, bucket):
    storage = storage_for(moto, bucket)
    old = "df-01jq0000000000000000000000-plan.txt"
    new = f"Done/{old}"

    async def scenario():
        async def content():
            yield b"the plan"
        await storage.receive_upload(old, content(), "text/plain",
                                     record=FileRecord("plan.txt", "text/plain", "alice"))
        # The move's copy, and then the crash: both objects are there.
        async with storage.s3() as client:
            found = await reads.head(client, storage.bucket, storage.object_key(old), old)
        await moves.copy_object(storage.s3, storage.bucket, found, storage.object_key(new), new,
                                FileRecord("plan.txt", "text/plain", "alice"))
        assert sorted(bucket.keys()) == ["p/" + new, "p/" + old]
        # The journal's undo moves it back: the copy is recognised and removed
        # (the folder it was in stays, as on disk).
        await storage.move_file(new, old)
        assert bucket.keys() == ["p/Done/", "p/" + old]
        # Or, had the journal gone forward, the same move again finishes it.
        await moves.copy_object(storage.s3, storage.bucket, found, storage.object_key(new), new,
                                None)
        await storage.move_file(old, new)
        assert bucket.keys() == ["p/Done/", "p/" + new]
        record = (await storage.stored_records([new]))[new]
        await storage.close()
        return record

    assert asyncio.run(scenario()) == FileRecord("plan.txt", "text/plain", "alice")


def test_a_folder_move_cut_short_is_undone_whole(moto, bucket):
    storage = storage_for(moto, bucket)

    async def scenario():
        for name in ("a.txt", "b.txt", "sub/c.txt"):
            async def content():
                yield name.encode()
            await storage.receive_upload(f"Trip/{name}", content(), "text/plain")
        await storage.make_folder("Trip")
        # Two of its four keys copied, then the crash.
        async with storage.s3() as client:
            for name in ("a.txt", "sub/c.txt"):
                found = await reads.head(client, storage.bucket,
                                               storage.object_key(f"Trip/{name}"), name)
                await moves.copy_object(storage.s3, storage.bucket, found,
                                        storage.object_key(f"Trips/{name}"), f"Trips/{name}",
                                        None)
        # A different folder there is refused; the interrupted copy is not.
        await storage.make_folder("Other")
        with pytest.raises(FileExistsError):
            await storage.move_folder("Trip", "Other")
        await storage.move_folder("Trips", "Trip")
        await storage.close()

    asyncio.run(scenario())
    assert sorted(bucket.keys()) == ["p/Other/", "p/Trip/", "p/Trip/a.txt", "p/Trip/b.txt",
                                     "p/Trip/sub/c.txt"]


def test_a_sweep_aborts_abandoned_multipart_uploads_only(moto, bucket):
    storage = storage_for(moto, bucket)
    live_id, dead_id = "df-01jq0000000000000000000001", "df-01jq0000000000000000000002"
    for key in (f"p/{live_id}-a.bin", f"p/{dead_id}-b.bin", "p/made-by-hand.bin",
                "outside/x.bin"):
        bucket.client.create_multipart_upload(Bucket=bucket.name, Key=key)

    async def sweep(stale_seconds: float) -> int:
        async def live():
            return [live_id]
        storage.stale_upload_seconds = stale_seconds
        try:
            return await storage.sweep_temporary_files(live)
        finally:
            await storage.close()

    # A probe object a killed health check left behind goes too, once old.
    bucket.put("p/.datasette-files-probe-0123", b"")
    assert asyncio.run(sweep(3600)) == 2  # moto says every upload began in 2010
    assert "p/.datasette-files-probe-0123" in bucket.keys()
    assert asyncio.run(sweep(0)) == 1
    assert bucket.keys() == []
    assert sorted(u["Key"] for u in bucket.multipart_uploads()) == [
        "outside/x.bin", f"p/{live_id}-a.bin"]


def test_a_sweep_deletes_staged_posts_no_live_upload_owns(moto, bucket):
    # Presigned POSTs store under the staging folder until complete copies them into
    # place: one of an expired token (or posted again after complete) is left there.
    storage = storage_for(moto, bucket)
    live_id, dead_id = "df-01jq0000000000000000000001", "df-01jq0000000000000000000002"
    staged = "p/.datasette-files-uploads/"
    for name in (f"{live_id}-a.txt", f"{dead_id}-b.txt", "made-by-hand.txt"):
        bucket.put(staged + name, b"x")
    bucket.put("p/kept.txt", b"a file")

    async def sweep(stale_seconds: float) -> int:
        async def live():
            return [live_id]
        storage.stale_upload_seconds = stale_seconds
        try:
            return await storage.sweep_temporary_files(live)
        finally:
            await storage.close()

    assert asyncio.run(sweep(3600)) == 0  # young: another server may have prepared them
    time.sleep(1.1)  # LastModified has whole seconds
    assert asyncio.run(sweep(0)) == 2
    assert sorted(bucket.keys()) == ["p/.datasette-files-uploads/" + f"{live_id}-a.txt",
                                     "p/kept.txt"]


def test_a_sweep_spares_the_multipart_upload_this_process_is_writing(moto, bucket):
    storage = storage_for(moto, bucket)
    storage.stale_upload_seconds = 0
    halfway = asyncio.Event()
    carry_on = asyncio.Event()

    async def content():
        yield b"x" * (9 * MiB)  # past the first 8 MiB part: a multipart upload
        halfway.set()
        await carry_on.wait()
        yield b"y" * MiB

    async def no_live_uploads():
        return []

    async def scenario():
        writing = asyncio.ensure_future(storage.receive_upload("big.bin", content(),
                                                               "application/octet-stream"))
        await halfway.wait()
        swept = await storage.sweep_temporary_files(no_live_uploads)
        carry_on.set()
        stored = await writing
        await storage.close()
        return swept, stored.size

    assert asyncio.run(scenario()) == (0, 10 * MiB)
    assert bucket.keys() == ["p/big.bin"] and bucket.multipart_uploads() == []


def test_config_is_checked_before_any_request():
    async def configure(config):
        async def secrets(name):
            return None
        await S3CompatibleStorage().configure(config, secrets)

    with pytest.raises(ConfigError, match="needs a 'bucket' key"):
        asyncio.run(configure({"prefix": "x"}))
    with pytest.raises(ConfigError, match="'secret_access_key' must not be in the config"):
        asyncio.run(configure({"bucket": "b-1", "secret_access_key": "x"}))


@pytest.mark.parametrize("point", ["step-1", "committed"])
def test_a_folder_move_killed_anywhere_leaves_one_copy(moto, bucket, tmp_path, point):
    """Killed after the copy-then-delete (before the registry's commit) or after
    the commit: the next start undoes or finishes it, and the bucket holds the
    folder's files once, where the registry says."""
    config = config_for(team=s3_source(moto.url, bucket.name, "t/"))
    config["plugins"]["datasette-files"]["sync_on_start"] = False
    server = DatasetteServer(tmp_path / "server", config,
                             env={**s3_env(), "DATASETTE_FILES_TEST_CRASH_AT": point}).start()
    try:
        with server.client(ALICE) as client:
            client.post("/-/files/folders/team/-/create", json={"name": "Trip"})
            file = api.upload(client, "team", "photo.jpg", b"jpeg", folder="Trip")
            with pytest.raises(httpx.HTTPError):
                client.post("/-/files/folders/team/-/move", json={"path": "Trip", "name": "Trips"})
        server.process.wait(timeout=30)
        assert server.process.returncode == -9
        server.env = s3_env()
        server.start()
        with server.client(ALICE) as client:
            now = client.get(f"/-/files/{file['id']}.json").json()
            assert now["folder"] == ("Trip" if point != "committed" else "Trips")
            assert httpx.get(client.get(now["download_url"]).headers["location"]).content \
                == b"jpeg"
            [key] = [k for k in bucket.keys() if file["id"] in k]
            assert key.startswith(f"t/{now['folder']}/")
            sync = client.post("/-/files/sync/team")
            assert sync.status_code == 202
            status = api.wait_for_sync(client, "team")["sync"]
            assert (status["added"], status["removed"]) == (0, 0)
    finally:
        server.stop()


def test_health_checks_write_a_probe_only_now_and_then(moto, bucket):
    storage = storage_for(moto, bucket)

    def probes() -> int:
        return moto.log().count(f"PUT /{bucket.name}/p/.datasette-files-probe-")

    async def check(writable: bool, times: int):
        for _ in range(times):
            await storage.check_health(writable)
        await storage.close()

    asyncio.run(check(False, 2))
    assert probes() == 0
    asyncio.run(check(True, 3))
    assert probes() == 1 and bucket.keys() == []
    bucket.client.delete_bucket(Bucket=bucket.name)
    with pytest.raises(StorageUnavailable):
        asyncio.run(check(False, 1))


@pytest.mark.parametrize("checksums", [True, False])
def test_stored_checksums_are_used_for_hashes_and_can_be_turned_off(moto, bucket, checksums):
    """A file stored in one PUT keeps its SHA-256 in the bucket, which hashing
    reads without the bytes; with ``checksums: false`` (a service refusing the
    headers) none is sent, and hashing reads the bytes."""
    storage = storage_for(moto, bucket, checksums=checksums)
    content = b"checked by the service"
    digest = "sha256:" + hashlib.sha256(content).hexdigest()

    async def scenario():
        async def one():
            yield content
        stored = await storage.receive_upload("a.txt", one(), "text/plain")
        hashes = await storage.content_hashes(["a.txt", "missing.txt"])
        await storage.close()
        return stored.content_hash, hashes

    assert asyncio.run(scenario()) == (digest, {"a.txt": digest, "missing.txt": None})
    kept = bucket.client.head_object(Bucket=bucket.name, Key="p/a.txt", ChecksumMode="ENABLED")
    assert ("ChecksumSHA256" in kept) is checksums
    assert moto.log().count(f"GET /{bucket.name}/p/a.txt") == (0 if checksums else 1)


def test_a_folder_keeps_existing_when_its_last_file_leaves(s3_server, bucket):
    """A folder of a bucket exists only through keys: the one a synced object
    made stays (a marker is put) once its last file moves away or is purged,
    as an emptied folder on disk does."""
    bucket.put("team/Photos/beach.jpg", b"jpeg")
    bucket.put("team/Notes/todo.txt", b"todo")
    server = s3_server()
    with server.client(ALICE) as client:
        status = api.wait_for_sync(client, "team")
        assert status["sync"]["added"] == 2, status
        files = {f["filename"]: f for f in client.get(
            "/-/files/search.json", params={"source": "team"}).json()["files"]}
        moved = client.post(f"/-/files/{files['beach.jpg']['id']}/-/move", json={"folder": ""})
        assert moved.status_code == 200, moved.text
        trash = client.post(f"/-/files/{files['todo.txt']['id']}/-/delete", json={}).json()
        assert client.post(trash["trash"]["purge_url"], json={}).status_code == 200
        assert {"team/Photos/", "team/Notes/"} <= set(bucket.keys())
        assert client.post("/-/files/sync/team").status_code == 202
        api.wait_for_sync(client, "team")
        for folder in ("Photos", "Notes"):
            listing = client.get("/-/files/source/team.json", params={"folder": folder})
            assert listing.status_code == 200, listing.text


def test_an_unreachable_service_is_a_503_not_a_crash(tmp_path):
    """Start-up only warns (the service may come back); requests that need it
    answer 503 with the JSON error every refusal has, and nothing is logged
    as a server error."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    config = config_for(team=s3_source(nowhere, "gone-bucket"))
    config["plugins"]["datasette-files"]["sync_on_start"] = False
    server = DatasetteServer(tmp_path / "server", config, env=s3_env()).start()
    try:
        assert "bucket gone-bucket cannot be reached at start-up" in server.log()
        with server.client(ALICE) as client:
            api.assert_api_error(client.put("/-/files/upload/team/a.txt", content=b"x"), 503)
    finally:
        server.stop()
    assert_no_server_errors(server)


def test_reads_of_ranges_empty_objects_and_objects_changed_after_opening(moto, bucket):
    storage = storage_for(moto, bucket)
    bucket.put("p/empty.txt", b"")
    bucket.put("p/abc.txt", b"abcdef")

    async def scenario():
        assert await storage.read_bytes("empty.txt", 100) == b""
        assert await storage.read_bytes("abc.txt", 2) == b"ab"
        assert await storage.read_file("abc.txt") == b"abcdef"
        assert [c async for c in storage.stream_range("abc.txt", 2, 3)] == [b"cd"]
        assert [c async for c in storage.stream_range("abc.txt", 10, None)] == []
        with pytest.raises(FileMissing):
            await storage.read_bytes("nope.txt", 10)
        with pytest.raises(UnsafePath):
            await storage.read_bytes("../escape.txt", 10)
        opened = await storage.open_file("abc.txt")
        assert opened.size == 6
        bucket.put("p/abc.txt", b"changed!")  # between the HEAD and the GET
        with pytest.raises(FileMissing):
            [c async for c in opened.stream_range(0, None)]
        await storage.close()

    asyncio.run(scenario())


def test_proxy_downloads_stream_through_the_server_as_attachments(moto, bucket, tmp_path):
    """A bucket browsers cannot reach (MinIO on a private network, say):
    ``proxy_downloads: true`` serves the bytes from the server, with the
    download's own headers, instead of redirecting to a presigned URL."""
    config = config_for(team=s3_source(moto.url, bucket.name, "team/", proxy_downloads=True))
    server = DatasetteServer(tmp_path / "server", config, env=s3_env()).start()
    try:
        with server.client(ALICE) as client:
            file = api.upload(client, "team", "page.html", b"<script>alert(1)</script>",
                              content_type="text/html")
            download = client.get(file["download_url"], follow_redirects=False)
            assert download.status_code == 200, download.headers
            assert download.content == b"<script>alert(1)</script>"
            assert download.headers["content-disposition"].startswith("attachment")
            assert download.headers["x-content-type-options"] == "nosniff"
            part = client.get(file["download_url"], headers={"Range": "bytes=8-12"})
            assert part.status_code == 206 and part.content == b"alert"
    finally:
        server.stop()
    assert_no_server_errors(server)


def test_only_a_key_that_really_left_its_folder_keeps_the_folder(moto, bucket):
    """delete_file keeps the folder its object leaves empty (a marker); a
    delete of an object that is not there puts no marker (its folder may
    have moved or been deleted), nor does discarding an upload's bytes."""
    storage = storage_for(moto, bucket)
    bucket.put("p/Kept/a.txt", b"a")
    bucket.put("p/Discarded/b.txt", b"b")

    async def scenario():
        try:
            await storage.delete_file("Kept/a.txt")
            await storage.delete_file("Gone/never-there.txt")
            await storage.discard_partial("Discarded/b.txt")
            await storage.discard_partial("Moved/never-sent.txt")
        finally:
            await storage.close()

    asyncio.run(scenario())
    assert bucket.keys() == ["p/Kept/"]
