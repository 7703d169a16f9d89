"""Backup and restore of a data directory, while the server runs.

A backup is a tar file laid out like the data directory. Databases are copied
with SQLite's online backup API, so each copy is consistent; the registry is
snapshotted first and files copied after, and any file deleted in between has
its registry row dropped from the copy, so a restored registry never points at
missing bytes.
"""

from __future__ import annotations

import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from .datadir import ADMIN_HASH_FILE, KEYS_FILE, DataDir

TEMP_DIR_NAME = ".datasette-files-tmp"


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
            tarfile.open(fileobj=out, mode="w|") as tar:
        temp = Path(temp)
        snapshots = {"internal/internal.db": data_dir.internal_db}
        snapshots.update({f"databases/{p.name}": p for p in data_dir.database_files()})
        copies = {}
        for name, path in snapshots.items():
            if path.exists():
                copies[name] = temp / name.replace("/", "__")
                _snapshot(path, copies[name])

        added, total_bytes = set(), 0
        for slug, root in roots.items():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d != TEMP_DIR_NAME]
                for filename in filenames:
                    path = Path(dirpath) / filename
                    try:
                        tar.add(path, arcname=str(path.relative_to(base)))
                    except FileNotFoundError:
                        continue  # deleted while we walked
                    added.add((slug, str(path.relative_to(root))))
                    total_bytes += path.stat().st_size if path.exists() else 0

        dropped = 0
        if "internal/internal.db" in copies:
            dropped = _drop_rows_without_bytes(copies["internal/internal.db"], roots, added)
        for name, copy in copies.items():
            tar.add(copy, arcname=name)
        for extra in (KEYS_FILE, ADMIN_HASH_FILE):
            if (data_dir.internal / extra).exists():
                tar.add(data_dir.internal / extra, arcname=f"internal/{extra}")
    lines = [
        f"backup: {len(copies)} databases, {len(added)} files ({total_bytes / 1e6:.1f} MB); "
        f"{dropped} registry rows dropped for files deleted during the backup",
        "the backup holds the keys in internal/keys.json: store it as securely as the data",
        *notes,
    ]
    return "\n".join(lines)


def _drop_rows_without_bytes(registry: Path, roots: dict, added: set) -> int:
    conn = sqlite3.connect(registry)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "datasette_files_files" not in tables:
            return 0
        missing = [
            (slug, path)
            for slug, path in conn.execute("SELECT source_slug, path FROM datasette_files_files")
            if slug in roots and (slug, path) not in added
        ]
        with conn:
            conn.executemany(
                "DELETE FROM datasette_files_files WHERE source_slug = ? AND path = ?", missing
            )
        return len(missing)
    finally:
        conn.close()


def restore_backup(backup: Path, data_dir: DataDir) -> str:
    """Unpack ``backup`` into an empty (or missing) data directory."""
    root = data_dir.root
    if root.exists() and any(p.name != "lost+found" for p in root.iterdir()):
        raise RestoreRefused(
            f"{root} is not empty: restore only into an empty data directory "
            "(move the current one aside first)"
        )
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(backup) as tar:
        # The "data" filter refuses absolute paths, '..', links out and devices.
        tar.extractall(root, filter="data")
        count = len(tar.getnames())
    data_dir.internal.chmod(0o700)
    return f"restored {count} entries into {root}"
