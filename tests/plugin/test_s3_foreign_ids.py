"""Objects other tools put in a bucket keep their ids in their own metadata
(``FileIdStamps``): sync stamps the id it gives each one into the object
(a server-side copy onto itself), so a registry rebuilt from the bucket (a
lost internal database) gives them the same ids again. Against a real moto
server, through real Datasette servers' HTTP API.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import time

import pytest
from PIL import Image

from support import api
from support.config import ALICE
from support.s3 import CREDENTIALS, needs_moto
from support.s3_fixtures import moto, s3_bucket, s3_server  # noqa: F401

pytestmark = needs_moto()
ID_KEY = "datasette-files-id"


def png(colour: tuple) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


def synced_ids(server) -> dict[str, dict]:
    """path -> file object of every file of ``team``, once synced and hashed."""
    with server.client(ALICE) as client:
        api.wait_for_sync(client, "team")
        return files_of(client)


def files_of(client) -> dict[str, dict]:
    found = client.get("/-/files/search.json", params={"source": "team", "limit": 500}).json()
    return {(f["folder"] + "/" if f["folder"] else "") + f["filename"]: f
            for f in found["files"]}


def resync(client) -> dict:
    response = client.post("/-/files/sync/team")
    assert response.status_code == 202, response.text
    return api.wait_for_sync(client, "team")


def put_foreign(bucket) -> None:
    """Objects another tool stored, with their own type, metadata and headers;
    LastModified a second older than any stamp can be (moto keeps seconds)."""
    bucket.put("team/reports/2024.csv", b"year,total\n2024,9\n", ContentType="text/csv",
               Metadata={"owner": "bob", "project": "x"}, CacheControl="max-age=60")
    bucket.put("team/photo.png", png((200, 20, 20)), ContentType="image/png")
    bucket.put("team/notes.txt", b"plain notes\n")
    time.sleep(1.1)


def copies_to(moto, bucket: str) -> list[str]:
    """The CopyObject-or-PUT requests moto logged for ``bucket``'s objects."""
    return re.findall(rf'"PUT /{bucket}/[^"]*"', moto.log())


def test_foreign_objects_keep_their_ids_in_a_rebuilt_registry(s3_bucket, s3_server, moto):
    put_foreign(s3_bucket)
    first = s3_server()
    before = synced_ids(first)
    assert set(before) == {"reports/2024.csv", "photo.png", "notes.txt"}
    for path, file in before.items():
        head = s3_bucket.head(f"team/{path}")
        assert head["Metadata"][ID_KEY] == file["id"]
    # The stamp kept what the other tool set: bytes, type, its metadata, headers.
    csv = s3_bucket.head("team/reports/2024.csv")
    assert csv["ContentType"] == "text/csv"
    assert csv["CacheControl"] == "max-age=60"
    assert {k: csv["Metadata"][k] for k in ("owner", "project")} == {"owner": "bob",
                                                                      "project": "x"}
    assert s3_bucket.get("team/reports/2024.csv") == b"year,total\n2024,9\n"
    assert s3_bucket.head("team/photo.png")["ContentType"] == "image/png"
    first.stop()

    # A new registry over the same bucket: the same ids, and nothing stamped again.
    puts = copies_to(moto, s3_bucket.name)
    rebuilt = synced_ids(s3_server())
    assert {p: f["id"] for p, f in rebuilt.items()} == {p: f["id"] for p, f in before.items()}
    assert rebuilt["reports/2024.csv"]["content_type"] == "text/csv"
    assert copies_to(moto, s3_bucket.name) == puts


def test_a_stamped_object_is_not_seen_as_changed(s3_bucket, s3_server):
    put_foreign(s3_bucket)
    server = s3_server()
    before = synced_ids(server)["photo.png"]
    assert s3_bucket.head("team/photo.png")["Metadata"][ID_KEY] == before["id"]
    assert before["content_hash"]
    with server.client(ALICE) as client:
        assert client.get(before["thumbnail_url"]).status_code == 200
        assert thumbnails_of(server, before["id"]) == 1
        time.sleep(1.1)  # a re-stamp, or a change, would now show in LastModified
        status = resync(client)
        assert (status["sync"]["changed"], status["sync"]["added"]) == (0, 0), status
        after = files_of(client)["photo.png"]
    # Not re-hashed: the hash and the thumbnail the first sync led to stay.
    assert (after["id"], after["content_hash"]) == (before["id"], before["content_hash"])
    assert thumbnails_of(server, before["id"]) == 1


def thumbnails_of(server, file_id: str) -> int:
    """How many thumbnails the server's internal database keeps of ``file_id``."""
    with sqlite3.connect(server.internal_db) as conn:
        return conn.execute("SELECT count(*) FROM datasette_files_thumbnails "
                            "WHERE file_id = ? AND thumb IS NOT NULL", [file_id]).fetchone()[0]


def test_a_copy_carrying_another_files_id_gets_its_own(s3_bucket, s3_server):
    put_foreign(s3_bucket)
    server = s3_server()
    original = synced_ids(server)["notes.txt"]
    # Another tool copies the object, metadata and all: the copy holds its id.
    s3_bucket.client.copy_object(Bucket=s3_bucket.name, Key="team/notes-copy.txt",
                                 CopySource={"Bucket": s3_bucket.name, "Key": "team/notes.txt"})
    assert s3_bucket.head("team/notes-copy.txt")["Metadata"][ID_KEY] == original["id"]
    with server.client(ALICE) as client:
        assert resync(client)["sync"]["added"] == 1
        found = files_of(client)
    copy = found["notes-copy.txt"]
    assert found["notes.txt"]["id"] == original["id"]
    assert copy["id"] != original["id"]
    assert s3_bucket.head("team/notes-copy.txt")["Metadata"][ID_KEY] == copy["id"]
    assert s3_bucket.head("team/notes.txt")["Metadata"][ID_KEY] == original["id"]
    server.stop()

    rebuilt = synced_ids(s3_server())
    assert (rebuilt["notes.txt"]["id"], rebuilt["notes-copy.txt"]["id"]) == \
        (original["id"], copy["id"])


def test_two_objects_with_one_id_and_no_rows_get_two_ids(s3_bucket, s3_server):
    put_foreign(s3_bucket)
    first = s3_server()
    original = synced_ids(first)["notes.txt"]
    first.stop()
    s3_bucket.client.copy_object(Bucket=s3_bucket.name, Key="team/notes-copy.txt",
                                 CopySource={"Bucket": s3_bucket.name, "Key": "team/notes.txt"})
    rebuilt = synced_ids(s3_server())  # one sync finds both, neither registered
    ids = {rebuilt["notes.txt"]["id"], rebuilt["notes-copy.txt"]["id"]}
    assert original["id"] in ids and len(ids) == 2
    for path in ("notes.txt", "notes-copy.txt"):
        assert s3_bucket.head(f"team/{path}")["Metadata"][ID_KEY] == rebuilt[path]["id"]


@pytest.mark.parametrize("stamped_first", [False, True])
def test_a_read_only_source_never_writes(s3_bucket, s3_server, moto, stamped_first):
    put_foreign(s3_bucket)
    stamped = {}
    if stamped_first:  # a writable registry stamped them once
        writable = s3_server()
        stamped = {p: f["id"] for p, f in synced_ids(writable).items()}
        writable.stop()
    heads = {key: s3_bucket.head(key) for key in s3_bucket.keys()}
    puts = copies_to(moto, s3_bucket.name)
    found = synced_ids(s3_server(read_only=True))
    assert set(found) == {"reports/2024.csv", "photo.png", "notes.txt"}
    assert copies_to(moto, s3_bucket.name) == puts
    for key, head in heads.items():
        now = s3_bucket.head(key)
        assert (now["LastModified"], now["ETag"], now["Metadata"]) == \
            (head["LastModified"], head["ETag"], head["Metadata"])
        assert (ID_KEY in now["Metadata"]) is stamped_first
    if stamped_first:  # ids stamped earlier are read, and reused
        assert {p: f["id"] for p, f in found.items()} == stamped


def test_a_stamped_id_moves_with_its_folder(s3_bucket, s3_server):
    put_foreign(s3_bucket)
    server = s3_server()
    report = synced_ids(server)["reports/2024.csv"]
    with server.client(ALICE) as client:
        moved = client.post("/-/files/folders/team/-/move",
                            json={"path": "reports", "name": "old reports"})
        assert moved.status_code == 200, moved.text
    head = s3_bucket.head("team/old reports/2024.csv")  # a copy, then a delete
    assert (head["Metadata"][ID_KEY], head["Metadata"]["owner"]) == (report["id"], "bob")
    server.stop()
    assert synced_ids(s3_server())["old reports/2024.csv"]["id"] == report["id"]


# The capability, in this process ------------------------------------------------


@pytest.mark.parametrize("in_parts", [False, True])
def test_a_stamp_reports_what_the_next_walk_sees(moto, s3_bucket, monkeypatch, in_parts):
    """The stamp's (size, mtime_ns) is what ``walk_folders`` then reports, for a
    copy in one request and for one in parts (objects over 5 GiB: here, the
    limit lowered so a 6 MiB object is copied in two parts)."""
    from datasette_files.base import FileIdStamps, FileRecord
    from datasette_files.storage.s3 import moves

    if in_parts:
        monkeypatch.setattr(moves, "MAX_SINGLE_COPY", 1)
        monkeypatch.setattr(moves, "COPY_PART_BYTES", 5 * 1024 * 1024)
    content = bytes(range(256)) * (6 * 4096)
    s3_bucket.put("p/big.bin", content, ContentType="application/x-thing",
                  Metadata={"owner": "bob"})
    time.sleep(1.1)
    storage = storage_for(moto, s3_bucket)
    file_id = "df-01jq0000000000000000000007"

    async def scenario():
        assert isinstance(storage, FileIdStamps)
        stamped = await storage.stamp_file_ids(
            [("big.bin", file_id, FileRecord("big.bin", "application/x-thing")),
             ("gone.bin", "df-01jq0000000000000000000008", FileRecord("gone.bin"))])
        walked = [folder async for batch in storage.walk_folders() for folder in batch]
        kept = await storage.stored_file_ids(["big.bin"])
        await storage.close()
        return stamped, walked[0].files, kept

    stamped, walked, kept = asyncio.run(scenario())
    assert stamped == {"big.bin": walked["big.bin"], "gone.bin": None}
    assert kept["big.bin"].file_id == file_id
    head = s3_bucket.head("p/big.bin")
    assert (head["ContentType"], head["Metadata"]["owner"]) == ("application/x-thing", "bob")
    assert (head["ETag"].strip('"').endswith("-2")) is in_parts
    assert s3_bucket.get("p/big.bin") == content


def storage_for(moto, bucket, prefix: str = "p/"):
    from datasette_files.storage.s3 import S3CompatibleStorage

    storage = S3CompatibleStorage()
    secrets = {"KEY_ID": CREDENTIALS["access_key_id"],
               "SECRET_KEY": CREDENTIALS["secret_access_key"]}

    async def get_secret(name):
        return secrets.get(name)

    asyncio.run(storage.configure({
        "bucket": bucket.name, "prefix": prefix, "endpoint_url": moto.url,
        "region": CREDENTIALS["region"], "access_key_id_secret": "KEY_ID",
        "secret_access_key_secret": "SECRET_KEY"}, get_secret))
    return storage


def test_an_object_another_tool_moved_keeps_its_id(s3_bucket, s3_server):
    put_foreign(s3_bucket)
    server = s3_server()
    notes = synced_ids(server)["notes.txt"]
    # Moved by another tool, metadata and all: a copy, then a delete.
    s3_bucket.client.copy_object(Bucket=s3_bucket.name, Key="team/kept/notes.txt",
                                 CopySource={"Bucket": s3_bucket.name, "Key": "team/notes.txt"})
    s3_bucket.delete("team/notes.txt")
    time.sleep(1.1)
    with server.client(ALICE) as client:
        status = resync(client)
        assert (status["sync"]["moved"], status["sync"]["removed"]) == (1, 0), status
        assert files_of(client)["kept/notes.txt"]["id"] == notes["id"]
        again = resync(client)  # the second stamp's LastModified was registered
        assert (again["sync"]["changed"], again["sync"]["added"]) == (0, 0), again
    assert s3_bucket.head("team/kept/notes.txt")["Metadata"][ID_KEY] == notes["id"]
    server.stop()
    assert synced_ids(s3_server())["kept/notes.txt"]["id"] == notes["id"]


def test_a_sweep_during_a_copy_in_parts_leaves_the_copy_alone(moto, s3_bucket, monkeypatch):
    """A copy over 5 GiB (here, the limit lowered: 6 MiB in two parts) is a
    multipart upload that may run longer than the sweep's age limit: this
    process's own sweep, run while it copies, must not abort it."""
    from datasette_files.storage.s3 import moves

    monkeypatch.setattr(moves, "MAX_SINGLE_COPY", 1)
    monkeypatch.setattr(moves, "COPY_PART_BYTES", 5 * 1024 * 1024)
    content = bytes(range(256)) * (6 * 4096)
    s3_bucket.put("p/big.bin", content)
    storage = storage_for(moto, s3_bucket)
    storage.stale_upload_seconds = 0  # every unknown multipart upload is abandoned
    swept = []

    async def scenario():
        async with storage.s3() as client:
            copy_part = client.upload_part_copy

            async def sweep_first(**arguments):
                if not swept:  # the copy's multipart upload exists: sweep now
                    swept.append(await storage.sweep_temporary_files(_no_live_uploads))
                return await copy_part(**arguments)

            client.upload_part_copy = sweep_first
            try:
                await storage.move_file("big.bin", "moved/big.bin")
            finally:
                del client.upload_part_copy
                await storage.close()

    asyncio.run(scenario())
    assert swept == [0]
    assert s3_bucket.get("p/moved/big.bin") == content
    assert s3_bucket.multipart_uploads() == []


async def _no_live_uploads():
    return []
