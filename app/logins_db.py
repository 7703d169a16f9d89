"""The logins database (DATA_DIR/internal/logins.db): the sessions that are
live, and the addresses each member logged in from.

Its own small file rather than a table in the internal database: the server
and `files-server signout` both write it, rarely, and a backup does not carry
logins along (a restored server asks everyone to log in again).

Session ids are stored hashed: a copy of this file does not give anyone a
usable session. Both tables are bounded: expired sessions are removed at each
login and a member keeps at most MAX_SESSIONS_PER_MEMBER (the oldest end
first); addresses are kept for ADDRESS_DAYS, at most MAX_ADDRESSES_PER_MEMBER
per member.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

MAX_SESSIONS_PER_MEMBER = 50
MAX_ADDRESSES_PER_MEMBER = 20
ADDRESS_DAYS = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    -- A fingerprint of the password hash the login was made with: a new
    -- password ends the logins made with the old one.
    password TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_member ON sessions (member, created);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires);
CREATE TABLE IF NOT EXISTS members (
    member TEXT PRIMARY KEY,
    -- The fingerprint of the member's password hash when the server last started.
    password TEXT NOT NULL DEFAULT '',
    -- API tokens the member made at or before this time (unix seconds) are
    -- refused: set by signing out everywhere and by a new password.
    tokens_before INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS login_addresses (
    member TEXT NOT NULL,
    address TEXT NOT NULL,
    last_login INTEGER NOT NULL,
    PRIMARY KEY (member, address)
);
"""


@dataclass(frozen=True)
class SessionRow:
    member: str
    password: str
    expires: int


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class LoginsDb:
    """One connection to the logins database; use it from one thread."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def data_version(self) -> int:
        """Changes when another connection (another process) commits a change."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def add_session(self, session_id: str, member: str, password: str, now: int,
                    expires: int) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            self.conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                              (_id_hash(session_id), member, password, now, expires))
            self.conn.execute(
                "DELETE FROM sessions WHERE member = ? AND id_hash NOT IN (SELECT id_hash "
                "FROM sessions WHERE member = ? ORDER BY created DESC, rowid DESC LIMIT ?)",
                (member, member, MAX_SESSIONS_PER_MEMBER))

    def session(self, session_id: str) -> Optional[SessionRow]:
        row = self.conn.execute(
            "SELECT member, password, expires FROM sessions WHERE id_hash = ?",
            (_id_hash(session_id),)).fetchone()
        return SessionRow(*row) if row else None

    def end_session(self, session_id: str) -> int:
        with self.conn:
            return self.conn.execute("DELETE FROM sessions WHERE id_hash = ?",
                                     (_id_hash(session_id),)).rowcount

    def end_member_sessions(self, member: str, now: Optional[int] = None) -> int:
        """End every login of ``member``, and the API tokens made until ``now``."""
        with self.conn:
            self._refuse_tokens(member, int(time.time()) if now is None else now)
            return self.conn.execute("DELETE FROM sessions WHERE member = ?",
                                     (member,)).rowcount

    def tokens_before(self, member: str) -> int:
        """API tokens ``member`` made at or before this time are refused."""
        row = self.conn.execute("SELECT tokens_before FROM members WHERE member = ?",
                                (member,)).fetchone()
        return row[0] if row else 0

    def note_passwords(self, fingerprints: dict[str, str], now: int) -> None:
        """Record each member's password fingerprint; a member whose password
        changed since the last start loses the API tokens made before."""
        with self.conn:
            for member, fingerprint in fingerprints.items():
                row = self.conn.execute("SELECT password FROM members WHERE member = ?",
                                        (member,)).fetchone()
                if row and row[0] and row[0] != fingerprint:
                    self._refuse_tokens(member, now)
                self.conn.execute(
                    "INSERT INTO members (member, password) VALUES (?, ?) ON CONFLICT (member) "
                    "DO UPDATE SET password = excluded.password", (member, fingerprint))

    def _refuse_tokens(self, member: str, now: int) -> None:
        self.conn.execute(
            "INSERT INTO members (member, tokens_before) VALUES (?, ?) ON CONFLICT (member) "
            "DO UPDATE SET tokens_before = max(tokens_before, excluded.tokens_before)",
            (member, now))

    def remember_address(self, member: str, address: str, now: int) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO login_addresses VALUES (?, ?, ?) ON CONFLICT (member, address) "
                "DO UPDATE SET last_login = excluded.last_login", (member, address, now))
            self.conn.execute("DELETE FROM login_addresses WHERE last_login < ?",
                              (now - ADDRESS_DAYS * 86400,))
            self.conn.execute(
                "DELETE FROM login_addresses WHERE member = ? AND address NOT IN (SELECT "
                "address FROM login_addresses WHERE member = ? ORDER BY last_login DESC "
                "LIMIT ?)", (member, member, MAX_ADDRESSES_PER_MEMBER))

    def logged_in_from(self, member: str, address: str, now: int) -> bool:
        """Whether ``member`` logged in from ``address`` within ADDRESS_DAYS."""
        return self.conn.execute(
            "SELECT 1 FROM login_addresses WHERE member = ? AND address = ? "
            "AND last_login >= ?", (member, address, now - ADDRESS_DAYS * 86400),
        ).fetchone() is not None
