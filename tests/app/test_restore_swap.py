"""A staged restore swapped in at start: resumable after a crash at any rename,
into one aside folder; and a restore is all or nothing."""

import io
import tarfile

import pytest

from app.backup import (
    ASIDE_NAME_FILE, STAGED_RESTORE, RestoreRefused, restore_backup, swap_in_staged_restore)
from app.datadir import DataDir, DataDirProblem

OLD = {"files/a.txt": "old a", "databases/data.db": "old db", "internal/keys.json": "old keys"}
NEW = {"files/b.txt": "new b", "databases/data.db": "new db", "internal/keys.json": "new keys"}


def write_tree(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def read_tree(root):
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def staged(tmp_path):
    """A server's data directory with a restore staged beside it."""
    root = tmp_path / "data"
    write_tree(root, OLD)
    write_tree(root / STAGED_RESTORE, NEW)
    (root / ASIDE_NAME_FILE).write_text(".before-restore-20261202-010000")
    (root / ".restore-upload.tar").write_text("the uploaded backup")
    return root


def assert_swapped(root):
    aside = root / ".before-restore-20261202-010000"
    assert read_tree(aside) == OLD
    assert {k: v for k, v in read_tree(root).items() if not k.startswith(".")} == NEW
    assert sorted(p.name for p in root.iterdir()) == [
        ".before-restore-20261202-010000", ".restore-upload.tar", "databases", "files",
        "internal"]


def test_a_swap_moves_the_data_aside_and_the_restore_in(staged):
    assert "20261202-010000" in swap_in_staged_restore(DataDir(staged))
    assert_swapped(staged)
    assert swap_in_staged_restore(DataDir(staged)) is None


def test_cut_short_while_moving_the_data_aside(staged):
    # What a kill -9 after the first rename leaves: part of the data aside.
    aside = staged / ".before-restore-20261202-010000"
    aside.mkdir()
    (staged / "files").rename(aside / "files")
    swap_in_staged_restore(DataDir(staged))
    assert_swapped(staged)


def moved_aside(staged):
    """What a kill -9 leaves once the data is aside and the restore renamed
    for moving in: (the aside folder, the restore's folder)."""
    aside = staged / ".before-restore-20261202-010000"
    aside.mkdir()
    for name in ("files", "databases", "internal"):
        (staged / name).rename(aside / name)
    swapping = staged / (STAGED_RESTORE + ".swapping")
    (staged / STAGED_RESTORE).rename(swapping)
    return aside, swapping


def test_cut_short_while_moving_the_restore_in(staged):
    _, swapping = moved_aside(staged)
    (swapping / "files").rename(staged / "files")
    swap_in_staged_restore(DataDir(staged))
    assert_swapped(staged)


def test_something_in_the_way_stops_the_swap_and_loses_nothing(staged):
    aside, swapping = moved_aside(staged)
    write_tree(staged, {"databases/data.db": "made by a command run meanwhile"})
    with pytest.raises(DataDirProblem, match="appeared while a restore was being swapped in"):
        swap_in_staged_restore(DataDir(staged))
    assert read_tree(aside) == OLD
    assert read_tree(swapping)["databases/data.db"] == "new db"


def tar_with(*members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file_member(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_member(name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


@pytest.mark.parametrize("bad", [
    link_member("files/escape", "/etc/passwd"),
    file_member("../outside.txt", b"x"),
    file_member("/abs.txt", b"x"),
], ids=["symlink", "dotdot", "absolute"])
def test_a_backup_with_a_bad_member_restores_nothing(tmp_path, bad):
    backup = tmp_path / "backup.tar"
    backup.write_bytes(tar_with(file_member("files/a.txt", b"a"),
                                file_member("internal/keys.json", b"{}"), bad))
    target = tmp_path / "data"
    with pytest.raises(RestoreRefused, match="cannot be restored"):
        restore_backup(backup, DataDir(target))
    assert list(target.iterdir()) == []
    assert not (tmp_path / "outside.txt").exists()
