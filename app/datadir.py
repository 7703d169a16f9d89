"""The data directory: files, databases and internal state, and the keys kept there.

    DATA_DIR/
      files/          source roots (a relative `root:` in the config lives here)
      databases/      writable SQLite databases served by Datasette (data.db)
      internal/       the internal database (file registry, tokens, secrets),
                      logins.db (login sessions) and generated keys: never
                      matched by a database glob
      internal/tmp/   SQLite's temporary files (a CSV import stages its rows
                      there): on the data volume, not the machine's small disk
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from cryptography.fernet import Fernet

KEYS_FILE = "keys.json"
ADMIN_HASH_FILE = "admin-password-hash"
# The server's two keys, and how each is made when it is first needed: here
# for a data directory, and by `files-server deploy fly` for a Fly secret.
KEY_MAKERS = {
    "DATASETTE_SECRET": lambda: secrets.token_hex(32),
    "DATASETTE_SECRETS_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
}


class DataDirProblem(Exception):
    """The data directory cannot be used (most often: not writable by us)."""


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def databases(self) -> Path:
        return self.root / "databases"

    @property
    def internal(self) -> Path:
        return self.root / "internal"

    @property
    def internal_db(self) -> Path:
        return self.internal / "internal.db"

    @property
    def logins_db(self) -> Path:
        """Live login sessions and the addresses members logged in from."""
        return self.internal / "logins.db"

    @property
    def tmp(self) -> Path:
        return self.internal / "tmp"

    @property
    def data_db(self) -> Path:
        """The writable database that imported tables go into."""
        return self.databases / "data.db"

    def ensure(self) -> None:
        """Create the layout on first start; existing content is never touched.
        DataDirProblem, saying how to fix it, when it is not ours to write."""
        try:
            for path in (self.files, self.databases, self.internal, self.tmp):
                path.mkdir(parents=True, exist_ok=True)
            self.internal.chmod(0o700)
            if not self.data_db.exists():
                import sqlite3

                sqlite3.connect(self.data_db).close()
        except PermissionError as ex:
            uid, gid = os.getuid(), os.getgid()
            raise DataDirProblem(
                f"{ex.filename or self.root} is not writable by this server, which runs as "
                f"uid {uid} (gid {gid}): `chown -R {uid}:{gid}` the folder mounted at "
                f"{self.root}, or use a named volume (docker run -v files-data:{self.root} ...)"
            ) from None

    def database_files(self) -> list[Path]:
        return sorted(self.databases.glob("*.db"))

    def keys(self, environ=None) -> tuple[dict, list[str]]:
        """The Datasette signing secret and the secrets encryption key, and the
        names of those that came from internal/keys.json.

        From the environment when set there; otherwise generated once and kept
        in internal/keys.json (worth a warning: a key stored beside the data it
        protects does not protect much).
        """
        env = os.environ if environ is None else environ
        stored = self._read_json(self.internal / KEYS_FILE) or {}
        keys, from_file, generated = {}, [], False
        for name, make in KEY_MAKERS.items():
            if env.get(name):
                keys[name] = env[name]
                continue
            if name not in stored:
                stored[name] = make()
                generated = True
            keys[name] = stored[name]
            from_file.append(name)
        if generated:
            self.internal.mkdir(parents=True, exist_ok=True)
            self._write_private(self.internal / KEYS_FILE, json.dumps(stored, indent=2))
        return keys, from_file

    def signing_secret(self, environ=None) -> Optional[str]:
        """The secret the server signs with (the environment's, else the one
        kept in internal/keys.json); None when there is none: never makes one."""
        env = os.environ if environ is None else environ
        if env.get("DATASETTE_SECRET"):
            return env["DATASETTE_SECRET"]
        return (self._read_json(self.internal / KEYS_FILE) or {}).get("DATASETTE_SECRET")

    def generated_admin_hash(self) -> Optional[str]:
        path = self.internal / ADMIN_HASH_FILE
        return path.read_text().strip() if path.exists() else None

    def save_generated_admin_hash(self, password_hash: str) -> None:
        self._write_private(self.internal / ADMIN_HASH_FILE, password_hash)

    @staticmethod
    def _read_json(path: Path) -> Optional[dict]:
        return json.loads(path.read_text()) if path.exists() else None

    @staticmethod
    def _write_private(path: Path, content: str) -> None:
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fp:
            fp.write(content)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(temp, path)
