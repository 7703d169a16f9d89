"""The filesystem storage's single choke point for paths, and its streaming."""

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from datasette_files.errors import ConfigError
from datasette_files.base import FileMissing, FileRecord, StorageUnavailable, UnsafePath
from datasette_files.storage.filesystem import FilesystemStorage
from datasette_files.storage.filesystem import records
from datasette_files.storage.filesystem.reads import READ_CHUNK, SMALL_FILE_BYTES


def descriptors_open_under(root: Path) -> int:
    """This process's open descriptors on files under root (deleted ones too).

    Only these count: other descriptors come and go with the garbage collector
    and with pytest-xdist's own traffic."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(root) + os.sep)
    return count


@pytest.fixture
def storage(tmp_path):
    storage = FilesystemStorage()
    asyncio.run(storage.configure({"root": str(tmp_path / "root")}, None))
    return storage


@pytest.mark.parametrize("path", [
    "../outside", "a/../../outside", "/etc/passwd", "", ".", "a//b", "a\x00b", "a\\..\\b",
    "./a", "a/./b"])
def test_unsafe_paths_are_refused(storage, path):
    with pytest.raises(UnsafePath):
        storage.resolve(path)


def test_symlinks_leading_outside_are_refused(storage, tmp_path):
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", storage.root / "link")
    with pytest.raises(UnsafePath):
        storage.resolve("link")
    with pytest.raises(UnsafePath):
        asyncio.run(storage.read_file("link"))


def test_symlinks_inside_the_root_and_a_root_through_a_symlink_are_fine(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "mounted")
    storage = FilesystemStorage()
    asyncio.run(storage.configure({"root": str(tmp_path / "mounted")}, None))
    (tmp_path / "real" / "a.txt").write_text("a")
    os.symlink(tmp_path / "real" / "a.txt", tmp_path / "real" / "alias")
    assert storage.resolve("a.txt") == tmp_path / "real" / "a.txt"
    assert asyncio.run(storage.read_file("alias")) == b"a"


def test_receive_stream_and_ranges(storage):
    async def chunks():
        for i in range(10):
            yield bytes([i]) * 1_000_000

    async def run():
        meta = await storage.receive_upload("f.bin", chunks(), "application/octet-stream")
        assert meta.size == 10_000_000 and meta.content_hash.startswith("sha256:")
        whole = b"".join([c async for c in storage.stream_file("f.bin")])
        part = b"".join([c async for c in storage.stream_range("f.bin", 999_999, 2_000_000)])
        return whole, part

    whole, part = asyncio.run(run())
    assert len(whole) == 10_000_000
    assert part == b"\x00" + b"\x01" * 1_000_000 + b"\x02"
    assert os.listdir(storage.root / ".datasette-files-tmp") == []


@pytest.mark.parametrize("size", [0, 1, READ_CHUNK, READ_CHUNK + 1, 3 * READ_CHUNK - 5])
def test_ranges_and_whole_files_read_exactly_and_close_the_file(storage, size):
    content = os.urandom(size)
    (storage.root / "f.bin").write_bytes(content)
    ranges = [(0, None), (0, size - 1), (size // 2, None), (size // 3, size - 2), (size - 1, None)]

    async def read(start, end):
        return b"".join([chunk async for chunk in storage.stream_range("f.bin", start, end)])

    async def first_chunk_only():
        stream = storage.stream_range("f.bin", 0, None)
        async for _ in stream:
            break
        await stream.aclose()

    before = descriptors_open_under(storage.root)
    for start, end in ranges:
        if 0 <= start < max(size, 1) and (end is None or start <= end):
            expected = content[start:None if end is None else end + 1]
            assert asyncio.run(read(start, end)) == expected, (start, end)
    asyncio.run(first_chunk_only())
    assert descriptors_open_under(storage.root) == before == 0


@pytest.mark.parametrize("size", [0, 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, READ_CHUNK + 7])
def test_an_opened_file_serves_exactly_the_bytes_it_stated(storage, size):
    content = os.urandom(size)
    (storage.root / "f.bin").write_bytes(content)
    ranges = [(0, None), (0, size - 1), (size // 2, None), (size // 3, size - 2), (size - 1, None)]

    async def read(start, end):
        opened = await storage.open_file("f.bin")
        assert opened.size == size
        # Replaced on disk (renamed over) after opening: the opened bytes are served.
        (storage.root / "new.bin").write_bytes(b"changed")
        os.replace(storage.root / "new.bin", storage.root / "f.bin")
        try:
            return b"".join([chunk async for chunk in opened.stream_range(start, end)])
        finally:
            (storage.root / "f.bin").write_bytes(content)
            await opened.close()

    async def opened_and_closed_unread():
        await (await storage.open_file("f.bin")).close()

    before = descriptors_open_under(storage.root)
    for start, end in ranges:
        if 0 <= start < max(size, 1) and (end is None or start <= end):
            expected = content[start:None if end is None else end + 1]
            assert asyncio.run(read(start, end)) == expected, (start, end)
    asyncio.run(opened_and_closed_unread())
    assert descriptors_open_under(storage.root) == before == 0


def test_a_failing_stream_leaves_nothing(storage):
    async def broken():
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        asyncio.run(storage.receive_upload("g.bin", broken(), "text/plain"))
    assert os.listdir(storage.root) == [".datasette-files-tmp"]
    assert os.listdir(storage.root / ".datasette-files-tmp") == []


def test_many_small_files_are_stored_in_groups_and_a_failure_stays_its_own(storage):
    """More files than are fsynced together, into three folders; one whose
    place is taken by a folder fails alone, and no partial write is left."""
    (storage.root / "b" / "taken").mkdir(parents=True)
    files = [(f"{'abc'[n % 3]}/f{n}.bin", os.urandom(n)) for n in range(150)]
    files[100] = ("b/taken", b"cannot go where a folder is")
    outcomes = storage.write_files_blocking(files, records=[FileRecord(p) for p, _ in files])
    assert [n for n, error in enumerate(outcomes) if error is not None] == [100]
    for n, (path, content) in enumerate(files):
        if n != 100:
            assert (storage.root / path).read_bytes() == content
            assert records.read(storage.root / path) == FileRecord(path)
    assert (storage.root / "b" / "taken").is_dir()
    assert list((storage.root / ".datasette-files-tmp").iterdir()) == []


@pytest.mark.parametrize("config,message", [
    ({}, "needs a 'root' key"),
    ({"root": "/tmp/x", "max_file_size": 0}, "positive number of bytes"),
    ({"root": "/tmp/x", "max_file_size": True}, "positive number of bytes"),
])
def test_config_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        asyncio.run(FilesystemStorage().configure(config, None))


def test_max_file_size_is_a_capability(tmp_path):
    storage = FilesystemStorage()
    asyncio.run(storage.configure({"root": str(tmp_path), "max_file_size": 123}, None))
    assert storage.capabilities.max_file_size == 123
    assert storage.capabilities.requires_proxy_download is True


def test_it_declares_every_optional_capability(storage):
    from datasette_files import base

    for capability in (base.RangeReads, base.ResumableWrites, base.BatchWrites,
                       base.FolderWalks, base.ContentHashes, base.FreeSpace, base.HealthChecks,
                       base.FileRecords):
        assert isinstance(storage, capability), capability.__name__


def test_list_files_pages_in_path_order_without_hidden_files(storage):
    names = ["b.txt", "a.txt", "a/x.txt", "a/y/z.txt", "a-b.txt", "a0.txt", ".hidden",
             "docs/.DS_Store", "docs/readme.md", "Thumbs.db", "zz/last.bin"]
    for name in names:
        (storage.root / name).parent.mkdir(parents=True, exist_ok=True)
        (storage.root / name).write_bytes(name.encode())
    os.symlink(storage.root / "b.txt", storage.root / "link.txt")

    def every_page(prefix="", limit=2):
        paths, cursor = [], None
        while True:
            files, cursor = asyncio.run(storage.list_files(prefix, cursor, limit))
            paths.extend(f.path for f in files)
            assert all(f.size == len(f.path) for f in files)
            if cursor is None:
                return paths

    visible = sorted(["b.txt", "a.txt", "a/x.txt", "a/y/z.txt", "a-b.txt", "a0.txt",
                      "docs/readme.md", "zz/last.bin"])
    assert every_page() == visible
    assert every_page(limit=1) == visible
    assert every_page(limit=100) == visible
    assert every_page("a/") == ["a/x.txt", "a/y/z.txt"]
    assert every_page("a/y") == ["a/y/z.txt"]
    files, cursor = asyncio.run(storage.list_files("", "a/x.txt", 2))
    assert [f.path for f in files] == ["a/y/z.txt", "a0.txt"] and cursor == "a0.txt"


def test_health_checks_name_what_fails(storage):
    asyncio.run(storage.check_health(writable=True))
    temp = storage.root / ".datasette-files-tmp"
    temp.rmdir()
    temp.write_text("no longer a directory: nothing can be written")
    asyncio.run(storage.check_health(writable=False))
    with pytest.raises(StorageUnavailable, match="cannot be written"):
        asyncio.run(storage.check_health(writable=True))
    temp.unlink()
    storage.root.rename(storage.root.parent / "moved")
    with pytest.raises(StorageUnavailable, match="cannot be read"):
        asyncio.run(storage.check_health(writable=False))


def test_missing_files_are_storage_errors(storage):
    with pytest.raises(FileMissing):
        asyncio.run(storage.read_file("nope.txt"))
    with pytest.raises(FileMissing):
        asyncio.run(storage.read_bytes("nope.txt", 10))

    async def first_chunk():
        async for chunk in storage.stream_range("nope.txt", 0, None):
            return chunk

    with pytest.raises(FileMissing):
        asyncio.run(first_chunk())


def test_every_way_of_writing_keeps_the_record_with_the_bytes(storage):
    """A small batch, a stream and chunks: each file's record is read back; a
    file stored without one, or placed by hand, has none."""
    menu = FileRecord("Café menu ü.pdf", "application/pdf", "alice")
    notes = FileRecord("Ñandú notes.md", "text/markdown", None)
    table = FileRecord("Große Tabelle.csv", None, "bob")

    async def chunks(*parts):
        for part in parts:
            yield part

    async def store_all():
        assert storage.write_files_blocking(
            [("menu.pdf", b"%PDF"), ("bare.txt", b"x")], records=[menu, None]) == [None, None]
        await storage.receive_upload("notes.md", chunks(b"# n"), "text/markdown", record=notes)
        await storage.write_chunk("key-1", 0, chunks(b"a,b\n"), hashlib.sha256())
        await storage.finish_chunks("key-1", "table.csv", record=table)
        (storage.root / "by-hand.txt").write_bytes(b"h")
        return await storage.stored_records(
            ["menu.pdf", "bare.txt", "notes.md", "table.csv", "by-hand.txt", "missing.txt",
             "../outside"])

    assert asyncio.run(store_all()) == {
        "menu.pdf": menu, "bare.txt": None, "notes.md": notes, "table.csv": table,
        "by-hand.txt": None, "missing.txt": None, "../outside": None}


def test_a_record_that_cannot_be_kept_is_dropped_and_a_foreign_one_ignored(storage):
    # Linux keeps user attributes on regular files and folders only: a device
    # refuses them, as a filesystem without extended attributes does.
    with open(os.devnull, "wb") as device:
        records.keep(device.fileno(), FileRecord("x.txt"))
    assert records.read(Path(os.devnull)) is None
    for foreign in (b"not json", b"[1]", b'{"filename": 3}', b'{"uploaded_by": "a"}'):
        path = storage.root / "foreign.txt"
        path.write_bytes(b"f")
        os.setxattr(path, records.ATTRIBUTE, foreign)
        assert records.read(path) is None, foreign
