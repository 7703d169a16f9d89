"""Zip downloads (GET and POST /-/files/-/zip) over HTTP, against a real
server and real disk: what the archive holds, who may have which files, what
is refused before the first byte, and what a download that breaks mid-way
looks like.

One server for the module; each test has sources of its own: ``src.team``,
which everyone may browse, and ``src.vault``, which only admins may."""

import http.client
import io
import os
import time
import urllib.parse
import zipfile
from pathlib import Path

import httpx
import pytest

from support import api
from support.config import ADMIN, ALICE, BOB
from support.pool import SourcePool
from support.server import actor_cookie

MiB = 1024 * 1024
MAX_RUNNING_ARCHIVES = 8  # archives.response.MAX_RUNNING_ARCHIVES
MAX_ARCHIVES_PER_CLIENT = 2  # archives.slots.MAX_ARCHIVES_PER_CLIENT


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    return SourcePool(request, tmp_path_factory.mktemp("zips"), kinds=("team", "vault"))


@pytest.fixture(scope="module")
def server(pool):
    sources = pool.sources()
    browse = {slug: {"allow": True if slug.startswith("team") else {"roles": "admin"}}
              for slug in sources}
    yield from pool.serve({
        "permissions": {"files-browse": browse, "files-upload": True,
                        "files-manage-sources": True},
        "plugins": {"datasette-files": {"sources": sources}},
    })


def zip_of(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == len(response.content)
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None  # every member's CRC holds
    return archive


def contents(archive: zipfile.ZipFile) -> dict:
    return {name: archive.read(name) for name in archive.namelist()}


def make_folder(client, source, path):
    parent, _, name = path.rpartition("/")
    made = client.post(f"/-/files/folders/{source}/-/create", json={"folder": parent,
                                                                    "name": name})
    assert made.status_code == 201, made.text


def synced(server, slug, files: dict) -> None:
    """``files`` (path -> bytes, or an int for a sparse file of that size)
    written straight into the source's directory, then registered by a sync."""
    root = server.config["plugins"]["datasette-files"]["sources"][slug]["config"]["root"]
    for path, content in files.items():
        target = Path(root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fp:
            if isinstance(content, int):
                fp.truncate(content)
            else:
                fp.write(content)
    with server.client() as client:
        assert client.post(f"/-/files/sync/{slug}").status_code in (200, 202)
        api.wait_for_sync(client, slug, hashed=False)


def file_ids(client, source, **params) -> dict:
    listing = client.get(f"/-/files/source/{source}.json", params={"limit": 500, **params})
    assert listing.status_code == 200, listing.text
    return {f["filename"]: f["id"] for f in listing.json()["files"]}


def test_chosen_files_come_flat_each_once_under_a_unique_name(server, src):
    big = os.urandom(3 * MiB + 17)  # more than one storage chunk
    with server.client(ALICE) as alice:
        make_folder(alice, src.team, "Other")
        make_folder(alice, src.team, "Third")
        first = api.upload(alice, src.team, "notes.txt", b"first notes")
        data = api.upload(alice, src.team, "data.bin", big)
        second = api.upload(alice, src.team, "notes.txt", b"second notes", folder="Other")
        shouting = api.upload(alice, src.team, "NOTES.txt", b"third notes", folder="Third")
        empty = api.upload(alice, src.team, "empty", b"")
        ids = [first["id"], data["id"], second["id"], first["id"], shouting["id"], empty["id"]]
        response = alice.get("/-/files/-/zip", params={"id": ids})
    archive = zip_of(response)
    assert contents(archive) == {"notes.txt": b"first notes", "data.bin": big,
                                 "notes (2).txt": b"second notes",
                                 "NOTES (3).txt": b"third notes", "empty": b""}
    assert archive.namelist()[:3] == ["notes.txt", "data.bin", "notes (2).txt"]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    assert 'filename="files-5.zip"' in response.headers["content-disposition"]


def test_a_form_post_from_our_page_works_and_one_from_another_site_does_not(server, src):
    with server.client(ALICE) as alice:
        ids = [api.upload(alice, src.team, f"form-{n}.txt", b"%d" % n)["id"] for n in range(3)]
        form = {"id": ids}
        same_origin = alice.post("/-/files/-/zip", data=form,
                                 headers={"Sec-Fetch-Site": "same-origin"})
        assert sorted(zip_of(same_origin).namelist()) == ["form-0.txt", "form-1.txt",
                                                          "form-2.txt"]
        # An older browser sends no Sec-Fetch-Site, only its Origin.
        own_origin = alice.post("/-/files/-/zip", data=form, headers={"Origin": server.url})
        assert own_origin.status_code == 200
        cross_site = alice.post("/-/files/-/zip", data=form,
                                headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
        same_site = alice.post("/-/files/-/zip", data=form,
                               headers={"Sec-Fetch-Site": "same-site"})
        assert same_site.status_code == 403
        other_origin = alice.post("/-/files/-/zip", data=form,
                                  headers={"Origin": "https://evil.example"})
        assert other_origin.status_code == 403
        api.assert_api_error(alice.post("/-/files/-/zip", json=form), 415, "x-www-form-urlencoded")


def test_a_thousand_ids_go_in_a_form_and_more_are_refused(server, src):
    with server.client(ALICE) as alice:
        one = api.upload(alice, src.team, "many.txt", b"many")["id"]
        allowed = alice.post("/-/files/-/zip", data={"id": [one] * 1000})
        assert zip_of(allowed).namelist() == ["many.txt"]
        api.assert_api_error(alice.post("/-/files/-/zip", data={"id": [one] * 1001}),
                             400, "At most 1000 ids")
        api.assert_api_error(alice.get("/-/files/-/zip", params={"id": ["x"] * 1001}),
                             400, "At most 1000 ids")


def test_a_folder_comes_with_its_tree_relative_to_it(server, src):
    with server.client(ALICE) as alice:
        for path in ("Reports", "Reports/2024", "Reports/2024/Q1", "Elsewhere",
                     "Reports/Empty", "Reports/Empty/Deeper", "Reports/Hollow"):
            make_folder(alice, src.team, path)
        api.upload(alice, src.team, "summary.txt", b"summary", folder="Reports")
        api.upload(alice, src.team, "march.csv", b"a,b\n1,2\n", folder="Reports/2024/Q1")
        api.upload(alice, src.team, "year.txt", b"year", folder="Reports/2024")
        api.upload(alice, src.team, "away.txt", b"away", folder="Elsewhere")
        api.upload(alice, src.team, "top.txt", b"top")
        folder = alice.get("/-/files/-/zip", params={"source": src.team, "folder": "Reports"})
        whole = alice.get("/-/files/-/zip", params={"source": src.team})
        inner = alice.post("/-/files/-/zip", data={"source": src.team,
                                                   "folder": "/Reports/2024/"})
    assert contents(zip_of(folder)) == {"summary.txt": b"summary", "2024/year.txt": b"year",
                                        "2024/Q1/march.csv": b"a,b\n1,2\n",
                                        "Empty/Deeper/": b"", "Hollow/": b""}
    assert 'filename="Reports.zip"' in folder.headers["content-disposition"]
    assert sorted(zip_of(whole).namelist()) == [
        "Elsewhere/away.txt", "Reports/2024/Q1/march.csv", "Reports/2024/year.txt",
        "Reports/Empty/Deeper/", "Reports/Hollow/", "Reports/summary.txt", "top.txt"]
    assert f'filename="{src.team}.zip"' in whole.headers["content-disposition"]
    assert sorted(zip_of(inner).namelist()) == ["Q1/march.csv", "year.txt"]
    assert 'filename="2024.zip"' in inner.headers["content-disposition"]


def test_a_file_named_as_a_folder_beside_it_gets_a_name_of_its_own(server, src):
    """A file "Reports" and a folder "Reports" may sit side by side in a
    source; in a zip the file came as "Reports" next to "Reports/summary.txt",
    which no unzip can make."""
    with server.client(ALICE) as alice:
        make_folder(alice, src.team, "Reports")
        api.upload(alice, src.team, "summary.txt", b"summary", folder="Reports")
        api.upload(alice, src.team, "Reports", b"a file called Reports")
        whole = alice.get("/-/files/-/zip", params={"source": src.team})
    assert contents(zip_of(whole)) == {"Reports (2)": b"a file called Reports",
                                       "Reports/summary.txt": b"summary"}


def test_a_folder_of_more_files_than_a_page_is_walked_whole(server, src):
    """The registry is read a thousand files at a time (archives.TREE_PAGE)."""
    files = {f"Big/part-{n // 700}/f{n:05d}.txt": b"%d" % n for n in range(2100)}
    synced(server, src.team, files)
    with server.client(ALICE) as alice:
        archive = zip_of(alice.get("/-/files/-/zip", params={"source": src.team,
                                                             "folder": "Big"}))
    assert contents(archive) == {path.removeprefix("Big/"): data
                                 for path, data in files.items()}


def test_only_files_the_actor_may_browse(server, src):
    with server.client(ADMIN) as admin:
        shared = api.upload(admin, src.team, "shared.txt", b"shared")["id"]
        secret = api.upload(admin, src.vault, "secret.txt", b"secret")["id"]
        both = {"id": [shared, secret]}
        assert sorted(zip_of(admin.get("/-/files/-/zip", params=both)).namelist()) == [
            "secret.txt", "shared.txt"]
        assert zip_of(admin.get("/-/files/-/zip", params={"source": src.vault})).namelist() \
            == ["secret.txt"]
    with server.client(BOB) as bob:
        # Nothing partial: the refused id is named, and no byte of the others is sent.
        api.assert_api_error(bob.get("/-/files/-/zip", params=both), 404, secret)
        api.assert_api_error(bob.post("/-/files/-/zip", data=both), 404, secret)
        api.assert_api_error(bob.get("/-/files/-/zip", params={"source": src.vault}), 403,
                             "files-browse")
        assert zip_of(bob.get("/-/files/-/zip", params={"id": shared})).namelist() == [
            "shared.txt"]
    with server.client() as anonymous:
        api.assert_api_error(anonymous.get("/-/files/-/zip", params={"source": src.vault}),
                             403)


def test_what_is_refused_before_the_first_byte(server, src):
    with server.client(ALICE) as alice:
        known = api.upload(alice, src.team, "known.txt", b"known")["id"]
        for params, status, message in [
            ({}, 400, "Give the files"),
            ({"folder": "Reports"}, 400, "Give the files"),
            ({"id": known, "source": src.team}, 400, "not both"),
            ({"id": "df-01j5a3b4c5d6e7f8g9h0jkmnpq"}, 404, "df-01j5a3b4c5d6e7f8g9h0jkmnpq"),
            ({"id": [known, "not-an-id"]}, 404, "not-an-id"),
            ({"source": "nosuch"}, 404, "nosuch"),
            ({"source": src.team, "folder": "Nowhere"}, 404, "Nowhere"),
            ({"source": src.team, "folder": "a/../b"}, 400, ""),
        ]:
            api.assert_api_error(alice.get("/-/files/-/zip", params=params), status, message)
        api.assert_api_error(alice.put("/-/files/-/zip"), 405, "not allowed")
        api.assert_api_error(alice.post("/-/files/-/zip", content=b"id=\xff",
                                        headers={"Content-Type": api_form()}), 400, "UTF-8")


def api_form():
    return "application/x-www-form-urlencoded"


def test_bytes_missing_before_the_start_are_a_404_or_left_out_of_a_folder(server, src):
    synced(server, src.team, {"Gone/here.txt": b"here", "Gone/gone.txt": b"gone"})
    with server.client(ALICE) as alice:
        ids = file_ids(alice, src.team, folder="Gone")
        (src.team_dir / "Gone" / "gone.txt").unlink()
        api.assert_api_error(alice.get("/-/files/-/zip", params={"id": list(ids.values())}),
                             404, ids["gone.txt"], "missing")
        folder = alice.get("/-/files/-/zip", params={"source": src.team, "folder": "Gone"})
    assert contents(zip_of(folder)) == {"here.txt": b"here"}


@pytest.mark.parametrize("damage", ["deleted", "shortened"])
def test_a_member_broken_mid_download_cuts_the_download_off(server, src, damage):
    """The server cannot take back the Content-Length it sent: the connection
    closes before it is reached, and the client knows the download failed."""
    synced(server, src.team, {"Cut/a-first.bin": 256 * MiB, "Cut/b-after.txt": b"after" * 100})
    with server.client(ALICE) as alice:
        ids = file_ids(alice, src.team, folder="Cut")
        after = src.team_dir / "Cut" / "b-after.txt"
        with alice.stream("GET", "/-/files/-/zip",
                          params={"id": [ids["a-first.bin"], ids["b-after.txt"]]}) as response:
            assert response.status_code == 200
            promised = int(response.headers["content-length"])
            received = 0
            chunks = response.iter_raw()
            received += len(next(chunks))
            if damage == "deleted":
                after.unlink()
            else:
                after.write_bytes(b"after")
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in chunks:
                    received += len(chunk)
        assert received < promised
    assert "cut off" in server.wait_for_log(ids["b-after.txt"])


def server_rss_mib(server) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_slow_reader_does_not_make_the_server_hold_the_archive(server, src):
    synced(server, src.team, {"Slow/large.bin": 512 * MiB})
    with server.client(ALICE) as alice:
        ids = file_ids(alice, src.team, folder="Slow")
        before = server_rss_mib(server)
        grown = 0.0
        with alice.stream("GET", "/-/files/-/zip", params={"id": ids["large.bin"]}) as response:
            assert int(response.headers["content-length"]) > 512 * MiB
            chunks = response.iter_raw(64 * 1024)
            for n in range(60):
                next(chunks)
                time.sleep(0.02)
                grown = max(grown, server_rss_mib(server) - before)
                # Others are served meanwhile.
                if n % 20 == 0:
                    assert alice.get("/-/files/search.json").status_code == 200
    # The client read a few MiB of 512: what the server holds is its chunk in
    # flight and the socket's buffers, not the archive.
    assert grown < 64, f"the server grew by {grown:.0f} MiB"


def test_zips_sent_at_once_are_bounded_and_a_departed_client_frees_its_place(server, src):
    synced(server, src.team, {"Busy/large.bin": 256 * MiB})
    with server.client(ALICE) as alice:
        params = {"id": file_ids(alice, src.team, folder="Busy")["large.bin"]}
        departed = server.log().count("the client went away")
        # Each a person of their own: one person holds at most MAX_ARCHIVES_PER_CLIENT.
        clients = [server.client({"id": f"reader{n}"}) for n in range(MAX_RUNNING_ARCHIVES)]
        streams = [client.stream("GET", "/-/files/-/zip", params=params) for client in clients]
        try:
            for stream in streams:
                assert stream.__enter__().status_code == 200
            api.assert_api_error(alice.get("/-/files/-/zip", params=params), 503,
                                 "try again")
        finally:
            for stream, client in zip(streams, clients):
                stream.__exit__(None, None, None)
                client.close()
        # The server hears of each departure, stops reading for it (not
        # streaming the rest to nobody), and gives its place back.
        for _ in range(100):
            if server.log().count("the client went away") == departed + len(clients):
                break
            time.sleep(0.1)
        assert server.log().count("the client went away") == departed + len(clients)
        for _ in range(100):
            with alice.stream("GET", "/-/files/-/zip", params=params) as response:
                if response.status_code == 200:
                    break
            time.sleep(0.1)
        assert response.status_code == 200


def test_one_person_holds_at_most_two_zips_at_once(server, src):
    """A slow reader keeps its place for the whole archive: one person's
    readers cannot take every place and shut the others out."""
    synced(server, src.team, {"Held/large.bin": 256 * MiB})
    with server.client(BOB) as bob:
        params = {"id": file_ids(bob, src.team, folder="Held")["large.bin"]}
    clients = [server.client(BOB) for _ in range(MAX_ARCHIVES_PER_CLIENT)]
    streams = [client.stream("GET", "/-/files/-/zip", params=params) for client in clients]
    try:
        for stream in streams:
            assert stream.__enter__().status_code == 200
        with server.client(BOB) as bob:
            api.assert_api_error(bob.get("/-/files/-/zip", params=params), 503,
                                 "already downloading", "try again")
        with server.client({"id": "someone else"}) as other:
            with other.stream("GET", "/-/files/-/zip", params=params) as response:
                assert response.status_code == 200
    finally:
        for stream, client in zip(streams, clients):
            stream.__exit__(None, None, None)
            client.close()


GiB = 1024 * MiB
# Where the big sparse file has bytes that are not zero, and which.
MARKS = {0: b"start", 4 * GiB + 100: b"past 4 GiB", 4 * GiB + 5 * MiB - 3: b"end"}


def test_a_zip_past_4_gib_is_zip64_and_whole(server, src, tmp_path):
    """4 GiB of sparse file (and a small file after it, at an offset past 4
    GiB) through the server; the client keeps the zip as a sparse file too,
    so neither side holds or writes gigabytes, then reads every member back
    with Python's zipfile, which checks each CRC."""
    huge_size = 4 * GiB + 5 * MiB
    synced(server, src.team, {"Huge/huge.bin": huge_size, "Huge/small.txt": b"small" * 10})
    with open(src.team_dir / "Huge" / "huge.bin", "r+b") as fp:
        for offset, mark in MARKS.items():
            fp.seek(offset)
            fp.write(mark)
    with server.client(ALICE) as alice:
        ids = file_ids(alice, src.team, folder="Huge")
    kept = tmp_path / "huge.zip"
    length, written = download_sparse(
        server, "/-/files/-/zip?" + urllib.parse.urlencode(
            {"id": [ids["huge.bin"], ids["small.txt"]]}, doseq=True), kept)
    assert written == length == kept.stat().st_size
    assert kept.stat().st_blocks * 512 < 64 * MiB  # sparse on disk
    tail = tail_of(kept, 200)
    assert b"PK\x06\x06" in tail and b"PK\x06\x07" in tail  # the ZIP64 end records
    with zipfile.ZipFile(kept) as archive:
        huge, small = archive.infolist()
        assert (huge.filename, huge.file_size) == ("huge.bin", huge_size)
        assert small.header_offset > 4 * GiB
        assert archive.read("small.txt") == b"small" * 10
        found, size = marks_in(archive, "huge.bin")
    assert size == huge_size
    assert found == MARKS


READ = 4 * MiB
ZEROS = bytes(READ)


def download_sparse(server, path: str, target: Path) -> tuple[int, int]:
    """GET ``path`` as alice into ``target``, seeking over reads of zeros:
    the Content-Length and the bytes received. http.client reads into one
    buffer: httpx would take a minute over 4 GiB."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    connection.request("GET", path, headers={"Cookie": f"ds_actor={actor_cookie(ALICE)}"})
    response = connection.getresponse()
    assert response.status == 200, response.read(2000)
    buffer = bytearray(READ)
    position = 0
    with open(target, "wb") as fp:
        while n := response.readinto(buffer):
            if n == READ and buffer == ZEROS:
                fp.seek(n, os.SEEK_CUR)
            else:
                fp.write(memoryview(buffer)[:n])
            position += n
        fp.truncate(position)
    connection.close()
    return int(response.headers["content-length"]), position


def tail_of(path: Path, size: int) -> bytes:
    with open(path, "rb") as fp:
        fp.seek(-size, os.SEEK_END)
        return fp.read()


def marks_in(archive: zipfile.ZipFile, name: str) -> tuple[dict, int]:
    """The bytes of member ``name`` that are not zero, by offset (each run
    within one read), and its size; reading it to the end checks its CRC."""
    found, position = {}, 0
    with archive.open(name) as member:
        while chunk := member.read(READ):
            if chunk != ZEROS[:len(chunk)]:
                stripped = chunk.lstrip(b"\0")
                found[position + len(chunk) - len(stripped)] = stripped.rstrip(b"\0")
            position += len(chunk)
    return found, position
