"""POST /-/files/upload/{slug}/-/batch over HTTP: many files in one multipart
request, folder trees recreated, each part's refusal its own, and what a
client that goes away or a server that dies leaves behind.

One server for the module; each test has sources of its own (``src.team``)
and may use the shared ``tiny`` (max_file_size 1000) and ``frozen``
(read-only) sources. alice and bob may upload, only alice may edit and
delete, anyone may browse."""

import hashlib
import os
import socket
import time

import httpx
import pytest

from support import api
from support.config import ALICE, BOB
from support.pool import SourcePool
from support.server import actor_cookie, source_config

from datasette_files.uploads import SMALL_FILE_BYTES

UPLOADERS = {"id": ["alice", "bob"]}
MIB = 1024 * 1024
CRASH_AT = "DATASETTE_FILES_TEST_CRASH_AT"


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def server(pool):
    yield from pool.serve({
        "permissions": {"files-browse": True, "files-upload": UPLOADERS,
                        "files-edit": {"id": "alice"}, "files-delete": {"id": "alice"}},
        "plugins": {"datasette-files": {"sources": {
            **pool.sources(),
            "tiny": source_config(pool.root / "tiny", max_file_size=1000),
            "frozen": {**source_config(pool.root / "frozen"), "read_only": True},
        }}},
    })


def every_file(client, source) -> list[dict]:
    """Every file of ``source``, however many pages."""
    files, url = [], f"/-/files/source/{source}.json?limit=100"
    while url:
        page = client.get(url).json()
        files += page["files"]
        url = page["next_url"]
    return files


def folders(client, source) -> list[str]:
    return client.get(f"/-/files/folders/{source}.json").json()["folders"]


def stored(root) -> list[str]:
    return api.stored_files(root)


def ok_results(response) -> list[dict]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["errors"] == [], body["errors"]
    return body["results"]


def test_many_files_are_stored_and_registered_byte_for_byte(server, src):
    # Small files (stored in groups) and larger ones (streamed), interleaved;
    # an empty file too.
    sizes = [4096] * 150 + [0, 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 700_000] * 2
    files = [(f"f{n:03}.bin", os.urandom(size)) for n, size in enumerate(sizes)]
    with server.client(ALICE) as alice:
        results = ok_results(api.batch(alice, src.team, files))
        assert [r["name"] for r in results] == [name for name, _ in files]
        for (name, content), result in zip(files, results):
            file = result["file"]
            assert (file["filename"], file["size"], file["folder"]) == (name, len(content), "")
            assert file["content_hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
            assert file["uploaded_by"] == "alice"
            assert file["content_type"] == "application/octet-stream"
        registered = {f["id"]: f for f in every_file(alice, src.team)}
        assert sorted(registered) == sorted(r["file"]["id"] for r in results)
        for (name, content), result in zip(files[::20] + files[-10:], results[::20] + results[-10:]):
            assert alice.get(result["file"]["download_url"]).content == content, name
    # One stored file per registered one, under its id, and nothing half-written.
    on_disk = stored(src.team_dir)
    assert len(on_disk) == len(files)
    assert sorted(p.split("-")[0] + "-" + p.split("-")[1] for p in on_disk) == sorted(registered)
    assert os.listdir(src.team_dir / ".datasette-files-tmp") == []


def test_a_part_content_type_is_kept_or_guessed_from_the_name(server, src):
    with server.client(ALICE) as alice:
        body, content_type = api.multipart_body([("notes.md", b"# n")],
                                                content_type="text/x-custom")
        typed = alice.post(f"/-/files/upload/{src.team}/-/batch", content=body,
                           headers={"Content-Type": content_type})
        assert ok_results(typed)[0]["file"]["content_type"] == "text/x-custom"
        guessed = ok_results(api.batch(alice, src.team, [("photo.png", b"not really")]))
        assert guessed[0]["file"]["content_type"] == "image/png"


def test_folder_trees_are_recreated_under_the_folder_and_merged(server, src):
    with server.client(ALICE) as alice:
        made = alice.post(f"/-/files/folders/{src.team}/-/create", json={"name": "Photos"})
        assert made.status_code == 201, made.text
        api.upload(alice, src.team, "old.jpg", b"old", folder="Photos")
        tree = [("photos/2024/a.jpg", b"a"), ("Photos/2024/b.jpg", b"b"),
                ("Photos/c.jpg", b"c"), ("docs/x/y/z.txt", b"z"), ("top.txt", b"t")]
        results = ok_results(api.batch(alice, src.team, tree))
        assert [r["file"]["folder"] for r in results] == [
            "Photos/2024", "Photos/2024", "Photos", "docs/x/y", ""]
        assert [r["file"]["filename"] for r in results] == [
            "a.jpg", "b.jpg", "c.jpg", "z.txt", "top.txt"]
        # "photos" went into the existing "Photos": one folder, not two.
        assert folders(alice, src.team) == ["docs", "docs/x", "docs/x/y", "Photos",
                                            "Photos/2024"]
        # Under a base folder.
        under = ok_results(api.batch(alice, src.team, [("2024/d.jpg", b"d"), ("e.jpg", b"e")],
                                     folder="Photos"))
        assert [r["file"]["folder"] for r in under] == ["Photos/2024", "Photos"]
        listing = alice.get(f"/-/files/source/{src.team}.json",
                            params={"folder": "Photos/2024"}).json()
        assert sorted(f["filename"] for f in listing["files"]) == ["a.jpg", "b.jpg", "d.jpg"]
        photos = alice.get(f"/-/files/source/{src.team}.json", params={"folder": "Photos"})
        assert photos.json()["folder_info"]["file_count"] == 3  # old, c, e
    # The folders are real ones in storage, each file in its own.
    assert (src.team_dir / "docs" / "x" / "y").is_dir()
    assert not (src.team_dir / "photos").exists()
    assert sorted(p.rpartition("-")[2] for p in os.listdir(src.team_dir / "Photos" / "2024")) \
        == ["a.jpg", "b.jpg", "d.jpg"]


def test_name_conflicts_follow_on_conflict_for_each_file(server, src):
    with server.client(ALICE) as alice:
        first = ok_results(api.batch(alice, src.team, [("a.txt", b"one"), ("d/b.txt", b"one")]))
        # rename (the default): numbered names, within the batch too.
        renamed = ok_results(api.batch(alice, src.team, [("a.txt", b"two"), ("A.txt", b"3"),
                                                         ("d/b.txt", b"two")]))
        assert [r["file"]["filename"] for r in renamed] == ["a (1).txt", "A (2).txt",
                                                            "b (1).txt"]
        # error: a 409 for the taken names, naming the file there; the others are stored.
        refused = api.batch(alice, src.team, [("a.txt", b"x"), ("new.txt", b"n"),
                                              ("d/b.txt", b"x"), ("big-taken.bin",
                                                                  b"x" * 300_000)],
                            on_conflict="error")
        assert refused.status_code == 200, refused.text
        body = refused.json()
        assert body["ok"] is False
        taken, new, taken_in_folder, _ = body["results"]
        assert taken["status"] == 409 and taken["ok"] is False
        assert taken["conflict"] == {"file_id": first[0]["file"]["id"], "filename": "a.txt"}
        assert taken_in_folder["conflict"]["file_id"] == first[1]["file"]["id"]
        assert new["ok"] is True
        assert body["errors"][0].startswith("a.txt: A file named 'a.txt' is already")
        # A large file whose name is taken is refused before its bytes are stored.
        ok_results(api.batch(alice, src.team, [("big.bin", b"y" * 300_000)]))
        big = api.batch(alice, src.team, [("big.bin", b"z" * 300_000)], on_conflict="error")
        assert big.json()["results"][0]["status"] == 409
        # replace: the file keeps its id and takes the new bytes.
        replaced = ok_results(api.batch(alice, src.team, [("a.txt", b"new bytes")],
                                        on_conflict="replace"))
        assert replaced[0]["file"]["id"] == first[0]["file"]["id"]
        assert alice.get(replaced[0]["file"]["download_url"]).content == b"new bytes"
    with server.client(BOB) as bob:
        # bob may upload but not edit alice's file: that one is refused, the rest stored.
        mixed = api.batch(bob, src.team, [("a.txt", b"bob's"), ("bob.txt", b"b")],
                          on_conflict="replace")
        results = mixed.json()["results"]
        assert results[0]["status"] == 403 and "may not replace" in results[0]["errors"][0]
        assert results[1]["ok"] is True
        assert bob.get(replaced[0]["file"]["download_url"]).content == b"new bytes"
    # No bytes were left behind by the refused files: what is stored is the
    # registered files' and the replaced bytes, in the trash.
    with server.client(ALICE) as alice:
        trash = alice.get(f"/-/files/trash/{src.team}.json").json()["items"]
        assert [item["name"] for item in trash] == ["a.txt"]
        assert len(stored(src.team_dir)) == len(every_file(alice, src.team)) + 1


BAD_PATHS = ["../escape.txt", "a/../../escape.txt", "/etc/escape.txt", "a//b.txt",
             "a\\b.txt", "a/\x01/b.txt", "./a.txt", ".git/config", "a/", ""]


def test_bad_paths_and_files_too_large_are_refused_one_by_one(server, src, pool):
    with server.client(ALICE) as alice:
        files = [(path, b"bad") for path in BAD_PATHS] + [("fine.txt", b"fine")]
        response = api.batch(alice, src.team, files)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results[:-1]] == [400] * len(BAD_PATHS), results
        assert results[-1]["ok"] is True
        assert [f["filename"] for f in every_file(alice, src.team)] == ["fine.txt"]
        assert folders(alice, src.team) == []
        # Over the source's max_file_size (1000 bytes): read whole or streamed.
        sized = api.batch(alice, "tiny", [("small.txt", b"s" * 1000), ("over.txt", b"o" * 1001),
                                          ("huge.bin", b"h" * 400_000), ("after.txt", b"a")])
        results = sized.json()["results"]
        assert [r["ok"] for r in results] == [True, False, False, True]
        assert [r.get("status") for r in results[1:3]] == [413, 413]
        assert "1000" in results[1]["errors"][0]
    assert stored(src.team_dir) == [p for p in stored(src.team_dir) if p.endswith("fine.txt")]
    assert not (pool.root / "escape.txt").exists() and not os.path.exists("/etc/escape.txt")
    assert len(stored(pool.root / "tiny")) == 2
    assert os.listdir(pool.root / "tiny" / ".datasette-files-tmp") == []


def test_request_level_refusals(server, src):
    url = f"/-/files/upload/{src.team}/-/batch"
    with server.client(ALICE) as alice, server.client() as anonymous:
        api.assert_api_error(alice.post(url, json={"files": []}), 415, "multipart/form-data")
        api.assert_api_error(api.batch(anonymous, src.team, [("a.txt", b"a")]), 403,
                             "files-upload")
        api.assert_api_error(api.batch(alice, "frozen", [("a.txt", b"a")]), 403, "read-only")
        api.assert_api_error(api.batch(alice, "nope", [("a.txt", b"a")]), 404)
        api.assert_api_error(alice.get(url), 405)
        api.assert_api_error(api.batch(alice, src.team, [("a.txt", b"a")], folder="Missing"),
                             404, "create it first")
        api.assert_api_error(api.batch(alice, src.team, [("a.txt", b"a")], folder="../up"),
                             400)
        api.assert_api_error(api.batch(alice, src.team, [("a.txt", b"a")],
                                       on_conflict="overwrite"), 400, "on_conflict")
        api.assert_api_error(api.batch(alice, src.team, []), 400, "No file")
        assert every_file(alice, src.team) == []


def test_a_field_after_the_files_is_refused_naming_the_files_stored(server, src):
    body, content_type = api.multipart_body([("first.txt", b"1")])
    late = body.replace(b"--\r\n", b"\r\nContent-Disposition: form-data; "
                        b"name=\"folder\"\r\n\r\nLate\r\n--batch-boundary-7d1c--\r\n")
    with server.client(ALICE) as alice:
        response = alice.post(f"/-/files/upload/{src.team}/-/batch", content=late,
                              headers={"Content-Type": content_type})
        body = api.assert_api_error(response, 400, "'folder' field must come before")
        assert [r["file"]["filename"] for r in body["results"]] == ["first.txt"]


def test_more_than_1000_files_stops_at_the_1001st_naming_those_stored(server, src):
    files = [(f"n{n}.txt", b"x") for n in range(1001)]
    with server.client(ALICE) as alice:
        response = api.batch(alice, src.team, files)
        body = api.assert_api_error(response, 413, "at most 1000 files")
        assert len(body["results"]) == 1000 and all(r["ok"] for r in body["results"])
        assert len(every_file(alice, src.team)) == 1000


def test_part_headers_are_capped_each_not_in_total(server, src):
    # 700 parts' headers are well over the form fields' 64 KiB: file parts'
    # are not counted with the fields'. One part's header line over ~4 KiB is
    # refused (python_multipart's cap).
    with server.client(ALICE) as alice:
        long_names = [(f"{'n' * 100}-{n}.txt", b"x") for n in range(700)]
        assert len(ok_results(api.batch(alice, src.team, long_names))) == 700
        body, content_type = api.multipart_body([("a.txt", b"x")])
        padded = body.replace(b"Content-Type: application/octet-stream",
                              b"X-Padding: " + b"p" * 5000)
        api.assert_api_error(alice.post(f"/-/files/upload/{src.team}/-/batch", content=padded,
                                        headers={"Content-Type": content_type}), 400, "header")
        assert len(every_file(alice, src.team)) == 700


def test_a_client_gone_midway_leaves_the_whole_parts_registered_and_no_partial_file(
        server, src):
    """The rule: a file whose part arrived whole before the connection closed
    is stored and registered; the part cut short leaves nothing."""
    whole = [(f"whole-{n}.txt", f"whole {n}".encode()) for n in range(3)]
    body, content_type = api.multipart_body(whole + [("cut.bin", b"c" * 900_000)])
    cut_at = body.index(b"c" * 1000) + 400_000  # in the middle of the streamed part
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST /-/files/upload/{src.team}/-/batch HTTP/1.1\r\nHost: test\r\n"
                     f"Cookie: ds_actor={actor_cookie(ALICE)}\r\n"
                     f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                     .encode() + body[:cut_at])
        time.sleep(0.5)
    with server.client(ALICE) as alice:
        for _ in range(100):
            files = every_file(alice, src.team)
            if len(files) == 3 and not os.listdir(src.team_dir / ".datasette-files-tmp"):
                break
            time.sleep(0.1)
        assert sorted(f["filename"] for f in files) == [name for name, _ in whole]
        for file in files:
            assert alice.get(file["download_url"]).content == dict(whole)[file["filename"]]
    assert len(stored(src.team_dir)) == 3
    assert os.listdir(src.team_dir / ".datasette-files-tmp") == []


def test_a_server_killed_between_storing_and_registering_leaves_what_a_sync_adopts(
        make_server, tmp_path):
    """Killed (SIGKILL) after a group of files is stored, before their rows:
    the bytes left are whole files that a sync registers as themselves: their
    ids, names, folders and uploader."""
    config = {"permissions": {"files-browse": True, "files-upload": True,
                              "files-manage-sources": True},
              "plugins": {"datasette-files": {"sync_on_start": False, "sources": {
                  "team": source_config(tmp_path / "team")}}}}
    server = make_server(config, env={CRASH_AT: "batch-stored"})
    files = [("trip/day 1/a.txt", b"a"), ("trip/b.txt", b"b"), ("c.txt", b"c")]
    with server.client(ALICE) as alice:
        with pytest.raises(httpx.HTTPError):
            api.batch(alice, "team", files)
    server.process.wait(timeout=30)
    assert server.process.returncode == -9
    server.env = {}
    server.start()
    left = stored(tmp_path / "team")
    assert sorted(p.rpartition("-")[2] for p in left) == ["a.txt", "b.txt", "c.txt"]
    with server.client(ALICE) as alice:
        assert every_file(alice, "team") == []
        assert alice.post("/-/files/sync/team").status_code == 202
        api.wait_for_sync(alice, "team")
        adopted = {f["filename"]: f for f in every_file(alice, "team")}
        assert sorted(adopted) == ["a.txt", "b.txt", "c.txt"]
        assert [adopted[name]["folder"] for name in ("a.txt", "b.txt", "c.txt")] == [
            "trip/day 1", "trip", ""]
        assert {f["uploaded_by"] for f in adopted.values()} == {"alice"}
        for path in left:
            file = adopted[path.rpartition("-")[2]]
            assert path.rpartition("/")[2].startswith(file["id"] + "-")
            assert alice.get(file["download_url"]).content == file["filename"][0].encode()


def test_a_batch_holds_a_bounded_part_of_its_files_in_memory(make_server, tmp_path):
    """48 MiB of small files (each read whole) in one request: the server's
    peak memory grows by what a request may hold at once (about 10 MiB of
    them), not by the batch. (A large file streams, as a PUT's does.)"""
    server = make_server({"permissions": {"files-browse": True, "files-upload": True},
                          "plugins": {"datasette-files": {"sources": {
                              "team": source_config(tmp_path / "team")}}}})
    files = [(f"s{n}.bin", os.urandom(200 * 1024)) for n in range(240)]
    with server.client() as client:
        ok_results(api.batch(client, "team", [("warm.txt", b"w")] * 3))
        before = server.peak_rss_kib()
        assert len(ok_results(api.batch(client, "team", files))) == len(files)
        grown = server.peak_rss_kib() - before
    assert grown < 24 * 1024, f"the server's peak memory grew by {grown // 1024} MiB"


def test_files_that_do_not_fit_on_the_disk_fail_alone(make_server, tiny_disk):
    """A 2 MiB disk and 3 MiB of files: those that fit are stored, the others
    answer 507 each, and no partial file is left."""
    server = make_server({"permissions": {"files-browse": True, "files-upload": True},
                          "plugins": {"datasette-files": {"sources": {
                              "tiny": source_config(tiny_disk)}}}})
    files = [(f"f{n}.bin", os.urandom(200 * 1024)) for n in range(15)]
    with server.client() as client:
        response = api.batch(client, "tiny", files)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        stored_ok = [r for r in results if r["ok"]]
        assert stored_ok and len(stored_ok) < len(files)
        assert {r["status"] for r in results if not r["ok"]} == {507}
        for result in stored_ok:
            file = result["file"]
            content = dict(files)[file["filename"]]
            assert client.get(file["download_url"]).content == content
        assert len(every_file(client, "tiny")) == len(stored_ok)
    assert len(stored(tiny_disk)) == len(stored_ok)
    assert os.listdir(tiny_disk / ".datasette-files-tmp") == []


def test_one_name_sent_many_times_is_numbered_and_gaps_are_filled(server, src):
    """Each copy of a name gets the first free number, letters in any case;
    the numbers taken are read in one go (asked one by one, the n-th copy
    cost n queries: a fuzzer's batches of one name held the writer for minutes)."""
    with server.client(ALICE) as alice:
        results = ok_results(api.batch(alice, src.team, [("Same.TXT", b"x")] * 150
                                       + [("same.txt", b"y")]))
        # The copies of one request are numbered in the order they are registered.
        names = {r["file"]["filename"].lower(): r["file"]["id"] for r in results}
        assert sorted(names) == sorted(["same.txt"] + [f"same ({n}).txt" for n in range(1, 151)])
        fifth = names["same (5).txt"]
        assert alice.post(f"/-/files/{fifth}/-/delete", json={}).json()["ok"]
        again = ok_results(api.batch(alice, src.team, [("same.txt", b"z")]))
        assert again[0]["file"]["filename"] == "same (5).txt"
