"""Backup and restore of a data directory, while the server runs.

A backup is a tar file laid out like the data directory. Databases are copied
with SQLite's online backup API, so each copy is consistent. The archive's
files agree with the registry's snapshot:

- The snapshot comes first. A file is on disk before its row commits, so every
  file the snapshot registers is there to be copied; one deleted meanwhile has
  its row dropped from the copy, so a restored registry never points at
  missing bytes. (Files first, the registry after, would register files that
  arrived between the two without their bytes.)
- A file datasette-files stored (its name holds its id) with no row in the
  snapshot is left out when its id is younger than the snapshot: its upload
  began after it. One with an older id is kept: an upload whose row committed
  just after the snapshot, or a file whose row was lost before, which would
  otherwise be in no backup at all. After a restore, sync registers it again
  under its own id, with the display name and owner datasette-files keeps in
  the file's extended attributes, which the archive carries.
- Files that are not ours (a share's) are all copied, as sync treats them.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Optional

import datasette_files

from .datadir import ADMIN_HASH_FILE, KEYS_FILE, DataDir, DataDirProblem

TEMP_DIR_NAME = ".datasette-files-tmp"
# Extended attributes in a pax header, as GNU tar and bsdtar write them.
PAX_XATTR = "SCHILY.xattr."
# Inside the data directory, for a restore swapped in at the server's next start.
STAGED_RESTORE = ".restore-next"
BEFORE_RESTORE = ".before-restore-"
# Beside the staged restore: the name of the folder its swap moves the data
# aside to, chosen once, so a swap cut short and resumed uses the same one.
ASIDE_NAME_FILE = STAGED_RESTORE + ".aside"
# Where the README puts an uploaded backup on a server's volume: names under
# ".restore" are never moved aside by the swap.
KEPT_BY_SWAP = (".restore", BEFORE_RESTORE, "lost+found")


class RestoreRefused(Exception):
    """The restore would overwrite something."""


def _snapshot(source: Path, destination: Path) -> None:
    """A consistent copy of a live database (SQLite's online backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _filesystem_roots(config: dict, data_dir: DataDir) -> tuple[dict, list[str]]:
    """{slug: root} of filesystem sources inside the data directory, and a note
    for each source whose bytes live elsewhere (not in the backup)."""
    roots, skipped = {}, []
    sources = ((config.get("plugins") or {}).get("datasette-files") or {}).get("sources") or {}
    for slug, source in sources.items():
        root = (source.get("config") or {}).get("root")
        if isinstance(root, dict) and "$env" in root:
            root = os.environ.get(root["$env"])
        if source.get("storage") != "filesystem" or not root:
            skipped.append(f"source {slug!r} ({source.get('storage')}): its bytes are not backed up")
            continue
        root = Path(root).resolve()
        if data_dir.root.resolve() not in root.parents:
            skipped.append(f"source {slug!r}: root {root} is outside the data directory, not backed up")
            continue
        roots[slug] = root
    return roots, skipped


def write_backup(data_dir: DataDir, config: dict, out: BinaryIO) -> str:
    """Write the backup tar to ``out``; return a one-paragraph report."""
    roots, notes = _filesystem_roots(config, data_dir)
    base = data_dir.root.resolve()
    with tempfile.TemporaryDirectory(dir=data_dir.internal) as temp, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        temp = Path(temp)
        # An id made from now on is an upload's that began after the snapshot.
        began = datetime.datetime.now(datetime.timezone.utc)
        snapshots = {"internal/internal.db": data_dir.internal_db}
        snapshots.update({f"databases/{p.name}": p for p in data_dir.database_files()})
        copies = {}
        for name, path in snapshots.items():
            if path.exists():
                copies[name] = temp / name.replace("/", "__")
                _snapshot(path, copies[name])
        registry = copies.get("internal/internal.db")
        registered = _registered_files(registry, roots) if registry else set()

        added, left_out, total_bytes = set(), 0, 0
        for slug, root in roots.items():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d != TEMP_DIR_NAME]
                for filename in filenames:
                    path = Path(dirpath) / filename
                    relative = str(path.relative_to(root))
                    if (slug, relative) not in registered and _stored_since(filename, began):
                        left_out += 1
                        continue
                    size = _add_file(tar, path, str(path.relative_to(base)))
                    if size is not None:  # else deleted while we walked
                        added.add((slug, relative))
                        total_bytes += size

        without_bytes = registered - added
        if without_bytes:
            _drop_rows(registry, without_bytes)
        for name, copy in copies.items():
            tar.add(copy, arcname=name)
        for extra in (KEYS_FILE, ADMIN_HASH_FILE):
            if (data_dir.internal / extra).exists():
                tar.add(data_dir.internal / extra, arcname=f"internal/{extra}")
    lines = [
        f"backup: {len(copies)} databases, {len(added)} files ({total_bytes / 1e6:.1f} MB); "
        f"{len(without_bytes)} registry rows dropped for files deleted during the backup; "
        f"{left_out} files left out, uploaded after the registry snapshot",
        "the backup holds the keys in internal/keys.json: store it as securely as the data",
        *notes,
    ]
    return "\n".join(lines)


def _stored_since(filename: str, began: datetime.datetime) -> bool:
    """Whether ``filename`` is a file datasette-files stored whose id (made as
    its upload began) is from ``began`` or later."""
    made = datasette_files.storage_name_time(filename)
    return made is not None and made >= began


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> Optional[int]:
    """Add ``path`` with its user extended attributes; its size, or None if it
    is gone."""
    try:
        info = tar.gettarinfo(path, arcname)
        info.pax_headers = _user_attributes(path)
        if not info.isreg():
            tar.addfile(info)
            return 0
        with open(path, "rb") as fp:
            tar.addfile(info, fp)
    except FileNotFoundError:
        return None
    return info.size


def _user_attributes(path: Path) -> dict[str, str]:
    """The file's ``user.`` extended attributes as pax headers, as GNU tar's
    ``--xattrs`` writes them: datasette-files keeps a file's display name and
    owner there, for sync to find should the registry lose the file."""
    if not hasattr(os, "listxattr"):
        return {}
    try:
        return {f"{PAX_XATTR}{name}": os.getxattr(path, name, follow_symlinks=False)
                .decode("utf-8", "surrogateescape")
                for name in os.listxattr(path, follow_symlinks=False)
                if name.startswith("user.")}
    except OSError:  # not supported here, or the file is gone: the bytes still count
        return {}


def _registered_files(registry: Path, roots: dict) -> set[tuple[str, str]]:
    """(source, path) of the files the registry copy holds in ``roots``."""
    conn = sqlite3.connect(registry)
    try:
        if not _has_files_table(conn):
            return set()
        return {(slug, path) for slug, path in conn.execute(
            "SELECT source_slug, path FROM datasette_files_files") if slug in roots}
    finally:
        conn.close()


def _has_files_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'datasette_files_files'").fetchone() is not None


def _drop_rows(registry: Path, files: set[tuple[str, str]]) -> None:
    """Forget ``(source, path)`` files in the registry copy."""
    conn = sqlite3.connect(registry)
    try:
        with conn:
            conn.executemany(
                "DELETE FROM datasette_files_files WHERE source_slug = ? AND path = ?", files)
    finally:
        conn.close()


def restore_backup(backup: Path, data_dir: DataDir) -> str:
    """Unpack ``backup`` into an empty (or missing) data directory. All or
    nothing: a backup that cannot be restored leaves the directory empty."""
    root = data_dir.root
    if root.exists() and any(p.name != "lost+found" for p in root.iterdir()):
        raise RestoreRefused(
            f"{root} is not empty: restore only into an empty data directory "
            "(move the current one aside first)"
        )
    existing = root if root.exists() else root.parent
    if not existing.is_dir():
        raise RestoreRefused(f"{existing} does not exist: make it first")
    owner = existing.stat()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(backup) as tar:
            members = _checked_members(tar)
            _extract(tar, root, members)
            for member in members:
                if member.isreg():
                    _restore_user_attributes(root / member.name, member.pax_headers)
    except (tarfile.TarError, RestoreRefused) as ex:
        _empty(root)
        raise RestoreRefused(f"{backup} cannot be restored: {ex}") from None
    data_dir.internal.chmod(0o700)
    if os.geteuid() == 0:
        # Run as root (`fly ssh console`, `docker exec -u root`): the server,
        # which does not run as root, must own what it will write to.
        _chown_tree(root, owner.st_uid, owner.st_gid)
    return f"restored {len(members)} entries into {root}"


def _checked_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member, once each is known to be a file or folder inside the
    backup (what a backup holds), before anything is written."""
    members = tar.getmembers()
    for member in members:
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isreg() or member.isdir()):
            raise RestoreRefused(f"{member.name!r} is not a file or folder inside the backup")
        member.mode &= 0o755  # as tarfile's data filter: no set-id or world-writable bits
    return members


def _extract(tar: tarfile.TarFile, root: Path, members: list[tarfile.TarInfo]) -> None:
    # tarfile's "data" filter where this Python has it (3.11.4+, 3.10.12+; the
    # image's Debian 3.11.2 does not): the members are checked either way.
    if hasattr(tarfile, "data_filter"):
        tar.extractall(root, members=members, filter="data")
    else:
        tar.extractall(root, members=members)


def _empty(root: Path) -> None:
    """Remove what a failed restore wrote (the directory was empty before)."""
    for entry in root.iterdir():
        if entry.name == "lost+found":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def stage_restore(backup: Path, data_dir: DataDir) -> str:
    """Unpack ``backup`` beside the data of a running server (whose data
    directory is never empty), for its next start to swap in."""
    root = data_dir.root
    if not root.is_dir():
        raise RestoreRefused(f"{root} is not a server's data directory: nothing to restore "
                             "beside (for an empty one, leave out --next-start)")
    staged = root / STAGED_RESTORE
    if staged.exists():
        raise RestoreRefused(f"a restore is already staged in {staged}: restart the server to "
                             "swap it in, or delete it")
    partial = root / (STAGED_RESTORE + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # a staging cut short before
    report = restore_backup(backup, DataDir(partial))
    aside = BEFORE_RESTORE + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (root / ASIDE_NAME_FILE).write_text(aside)
    # Complete, so the next start may swap it in; it never sees a partial one.
    partial.rename(staged)
    return (f"{report}; the next start of the server swaps it in, moving the data there now "
            f"to {root / aside}")


def swap_in_staged_restore(data_dir: DataDir) -> Optional[str]:
    """At the server's start, before anything is opened: replace the data with
    a staged restore; a line saying so, or None when none is staged.

    Renames only, within one filesystem. A start cut short at any point
    resumes the swap, into the same aside folder; DataDirProblem when it
    cannot go on (something took the place of what it moves in)."""
    root = data_dir.root
    staged, swapping = root / STAGED_RESTORE, root / (STAGED_RESTORE + ".swapping")
    name_file = root / ASIDE_NAME_FILE
    if not staged.exists() and not swapping.exists():
        return None
    if not name_file.exists():  # staged by a version that did not name it
        name_file.write_text(BEFORE_RESTORE + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    aside = root / name_file.read_text().strip()
    try:
        if staged.exists():
            aside.mkdir(exist_ok=True)
            for entry in root.iterdir():
                if not entry.name.startswith(KEPT_BY_SWAP):
                    entry.rename(aside / entry.name)
            staged.rename(swapping)
        for entry in swapping.iterdir():
            target = root / entry.name
            if target.exists():
                raise DataDirProblem(
                    f"{target} appeared while a restore was being swapped in: move it away "
                    f"and start again (the data the restore replaced is in {aside})")
            entry.rename(target)
        swapping.rmdir()
    except OSError as ex:
        raise DataDirProblem(f"swapping in the staged restore failed: {ex}") from None
    name_file.unlink()
    return (f"swapped in the restore staged by `files-server restore --next-start`; the data "
            f"it replaced is in {aside}: delete it once you have checked")


def _restore_user_attributes(path: Path, pax_headers: dict) -> None:
    """Put back the ``user.`` extended attributes the backup carried for ``path``
    (tarfile extracts none); where the filesystem keeps none, sync falls back
    to the names in storage."""
    for key, value in pax_headers.items():
        if key.startswith(PAX_XATTR + "user."):
            try:
                os.setxattr(path, key.removeprefix(PAX_XATTR),
                            value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except (OSError, AttributeError):  # AttributeError: no xattrs on this system
                return
