"""Zip downloads' parts: names inside an archive, the bounds on zips sent at
once, and the zip written from real files on disk (the HTTP behaviour is in
tests/plugin/test_zip_download.py)."""

import asyncio
import io
import os
import zipfile

import pytest

from datasette_files.archives import (
    ArchiveBroken, ArchiveSlots, Member, TooManyArchives, ZipArchive)
from datasette_files.archives.members import (
    UniqueNames, archive_name, safe_part, uniquely_named)
from datasette_files.registry import FileRow
from datasette_files.sources import Source
from datasette_files.storage.filesystem import FilesystemStorage


def row(filename: str, folder: str = "") -> FileRow:
    return FileRow(seq=1, id="df-x", source_slug="s", path=f"{folder}/{filename}".strip("/"),
                   filename=filename, content_type="text/plain", content_hash=None, size=1,
                   width=None, height=None, uploaded_by=None, created_at="", folder=folder)


def test_a_taken_name_is_numbered_before_its_extension_in_any_letter_case():
    names = UniqueNames()
    claimed = [names.claim(name) for name in (
        "report.pdf", "Report.PDF", "report.pdf", "report (2).pdf", "README", "readme",
        ".env", ".env", "a/report.pdf", "A/report.pdf")]
    assert claimed == ["report.pdf", "Report (2).PDF", "report (3).pdf", "report (2) (2).pdf",
                       "README", "readme (2)", ".env", ".env (2)", "a/report.pdf",
                       "A/report (2).pdf"]


def test_many_copies_of_one_name_are_numbered_in_turn():
    names = UniqueNames()
    assert [names.claim("x.txt") for _ in range(1000)][-2:] == ["x (999).txt", "x (1000).txt"]


def test_a_file_never_takes_the_name_of_a_folder_the_archive_holds():
    """Unzip tools cannot make a file "Reports" and a folder "Reports/" side by
    side: the file is numbered, whichever comes first, for folders with files
    and empty ones (any letter case)."""
    members = [Member(name, "df-x", None, name, 1) for name in (
        "Reports", "Reports/summary.txt", "Hollow", "notes.txt", "Reports/2024")]
    named = uniquely_named(members, ["hollow/", "Reports/2024/Q1/"])
    assert [m.name for m in named] == ["Reports (2)", "Reports/summary.txt", "Hollow (2)",
                                       "notes.txt", "Reports/2024 (2)"]


def test_names_keep_the_tree_below_the_folder_and_never_climb_out():
    assert archive_name(row("q1.txt", "Reports/2024"), None) == "q1.txt"
    assert archive_name(row("q1.txt", "Reports/2024"), "Reports") == "2024/q1.txt"
    assert archive_name(row("q1.txt", "Reports/2024"), "") == "Reports/2024/q1.txt"
    assert archive_name(row("q1.txt", "Reports"), "Reports") == "q1.txt"
    assert [safe_part(p) for p in ("..", ".", "", "a\\b", "a/b", "x\x00y")] == [
        "_", "_", "_", "a_b", "a_b", "x_y"]


def test_zips_at_once_and_the_files_they_hold_are_bounded():
    slots = ArchiveSlots(most=2, files=10)
    first, second = slots.take("a"), slots.take("b")
    with pytest.raises(TooManyArchives):
        slots.take("c")
    first.hold(6)
    with pytest.raises(TooManyArchives):
        second.hold(5)
    second.hold(4)
    first.give_back()
    first.give_back()  # once only
    assert (slots.running, slots.held) == (1, 4)
    slots.take("c").hold(6)


def test_one_client_holds_at_most_its_share_of_the_zips():
    slots = ArchiveSlots(most=8, files=10, per_client=2)
    mine = [slots.take("me"), slots.take("me")]
    with pytest.raises(TooManyArchives, match="already downloading 2"):
        slots.take("me")
    slots.take("you")
    mine[0].give_back()
    mine[0].give_back()
    slots.take("me")
    assert slots.by_client == {"me": 2, "you": 1}


@pytest.fixture
def source(tmp_path):
    storage = FilesystemStorage()
    asyncio.run(storage.configure({"root": str(tmp_path / "root")}, None))
    return Source("s", "filesystem", storage)


def member(source, name: str, path: str) -> Member:
    size = source.storage.resolve(path).stat().st_size
    return Member(name, f"df-{path}", source, path, size)


def written(archive: ZipArchive) -> bytes:
    async def collect():
        return b"".join([chunk async for chunk in archive.chunks()])
    return asyncio.run(collect())


def test_the_zip_is_as_long_as_announced_and_holds_each_member_whole(source, tmp_path):
    root = tmp_path / "root"
    (root / "big.bin").write_bytes(big := os.urandom(3 * 1024 * 1024 + 5))
    (root / "empty").write_bytes(b"")
    (root / "small.txt").write_bytes(b"small")
    archive = ZipArchive([member(source, "big.bin", "big.bin"),
                          member(source, "empty", "empty"),
                          member(source, "in/small.txt", "small.txt")],
                         folders=["nothing/", "in/deeper/"])
    data = written(archive)
    assert len(data) == len(archive)
    with zipfile.ZipFile(io.BytesIO(data)) as unzipped:
        assert unzipped.testzip() is None
        assert {name: unzipped.read(name) for name in unzipped.namelist()} == {
            "nothing/": b"", "in/deeper/": b"", "big.bin": big, "empty": b"",
            "in/small.txt": b"small"}


@pytest.mark.parametrize("change", [b"longer than it was", b"", None])
def test_a_member_that_changed_since_it_was_sized_breaks_the_zip(source, tmp_path, change):
    root = tmp_path / "root"
    (root / "a.txt").write_bytes(b"as sized")
    archive = ZipArchive([member(source, "a.txt", "a.txt")])
    if change is None:
        (root / "a.txt").unlink()
    else:
        (root / "a.txt").write_bytes(change)
    with pytest.raises((ArchiveBroken, FileNotFoundError)):
        written(archive)
