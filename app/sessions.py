"""Login sessions: a row on the server for each login, named by a random id
inside Datasette's signed ``ds_actor`` cookie ({"a": actor, "e": expiry, "s":
session id}).

A session is live while its row exists, has not expired, and was made with the
member's current password hash. Logging out deletes the row, so a copy of the
cookie stops working with it; so do signing out everywhere, an admin's
sign-out and `files-server signout`. Cookies of the previous version (no
session id) are refused. Ending all of a member's logins (or a new password)
also refuses the Datasette API tokens (``dstok_``) they made before: a copied
cookie could have minted one.

Every request checks its session, cheaply: rows read are kept in memory; this
server's own changes update them at once, and a change made by another process
(the command line) is noticed within CHECK_SECONDS through SQLite's
data_version. The database is used from one thread of its own, never from the
event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, TypeVar

from datasette.utils import baseconv
from itsdangerous import BadSignature

from .logins_db import LoginsDb, SessionRow

SESSION_COOKIE = "ds_actor"
NAMESPACE = "actor"
# How stale this process's view of sessions ended by another process may be.
CHECK_SECONDS = 2
MAX_CACHED = 10_000

T = TypeVar("T")


class Sessions:
    def __init__(self, datasette, path: Path, lifetime: int, password_hashes: dict[str, str]):
        self.datasette = datasette
        self.path = path
        self.lifetime = lifetime
        # Never the hash itself: a keyed digest of it, enough to tell a new one.
        self._fingerprints = {
            member: hashlib.sha256(datasette.sign(password_hash, "password")
                                   .encode()).hexdigest()[:16]
            for member, password_hash in password_hashes.items() if password_hash}
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="logins-db")
        self._db: Optional[LoginsDb] = None
        # session id -> its row, or None for a session that is not live.
        self._rows: dict[str, Optional[SessionRow]] = {}
        # Bumped by every change made here, so a read that started before it
        # does not put back a row it ended.
        self._changes = 0
        self._data_version: Optional[int] = None
        self._next_check = 0.0
        # member -> API tokens made at or before this time are refused.
        self._tokens_before: dict[str, int] = {}
        # The signature check is the costly part: once per distinct cookie or token.
        self._unsigned = functools.lru_cache(maxsize=1024)(self._unsign)
        self.token_created = functools.lru_cache(maxsize=1024)(self._token_created)

    async def start(self, member: str, address: str) -> tuple[str, int]:
        """A new login for ``member`` from ``address``: the cookie value to set
        and its lifetime in seconds. The address is remembered (see login.py)."""
        session_id = secrets.token_urlsafe(24)
        now = int(time.time())
        row = SessionRow(member, self._fingerprints.get(member, ""), now + self.lifetime)

        def store(db: LoginsDb) -> None:
            db.add_session(session_id, member, row.password, now, row.expires)
            db.remember_address(member, address, now)

        await self._run(store)
        self._rows[session_id] = row
        cookie = self.datasette.sign(
            {"a": {"id": member}, "e": baseconv.base62.encode(row.expires), "s": session_id},
            NAMESPACE)
        return cookie, self.lifetime

    async def actor(self, cookie: Optional[str]) -> Optional[dict]:
        """The actor of a session cookie if its session is live, else None."""
        session = self._unsigned(cookie) if cookie else None
        if session is None:
            return None
        row = await self._row(session["s"])
        if (row is None or row.expires < time.time()
                or row.member != str(session["a"].get("id"))
                or row.password != self._fingerprints.get(row.member)):
            return None
        return session["a"]

    def session_id(self, cookie: Optional[str]) -> Optional[str]:
        session = self._unsigned(cookie) if cookie else None
        return session["s"] if session else None

    async def end(self, session_id: str) -> int:
        """End one login; returns how many ended (0 or 1)."""
        ended = await self._run(lambda db: db.end_session(session_id))
        self._changes += 1
        self._rows[session_id] = None
        return ended

    async def end_member(self, member: str) -> int:
        """End every login of ``member``; returns how many ended."""
        now = int(time.time())
        ended = await self._run(lambda db: db.end_member_sessions(member, now))
        self._changes += 1
        self._tokens_before[member] = now
        for session_id, row in self._rows.items():
            if row is not None and row.member == member:
                self._rows[session_id] = None
        return ended

    async def token_allowed(self, member: str, created: int) -> bool:
        """Whether an API token ``member`` made at ``created`` (unix seconds)
        still holds: not if they signed out everywhere, were signed out, or got
        a new password since."""
        await self._notice_other_writers()
        if member in self._tokens_before:
            return created > self._tokens_before[member]
        changes = self._changes
        before = await self._run(lambda db: db.tokens_before(member))
        # A sign-out made here meanwhile is in the cache; keep the later time.
        before = max(before, self._tokens_before.get(member, 0))
        if changes == self._changes:
            if len(self._tokens_before) >= MAX_CACHED:
                self._tokens_before.clear()
            self._tokens_before[member] = before
        return created > before

    async def logged_in_from(self, member: str, address: str) -> bool:
        return await self._run(lambda db: db.logged_in_from(member, address, int(time.time())))

    async def _row(self, session_id: str) -> Optional[SessionRow]:
        await self._notice_other_writers()
        if session_id in self._rows:
            return self._rows[session_id]
        changes = self._changes
        row = await self._run(lambda db: db.session(session_id))
        if changes == self._changes:
            if len(self._rows) >= MAX_CACHED:
                self._rows.clear()
            self._rows[session_id] = row
        return row

    async def _notice_other_writers(self) -> None:
        if time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + CHECK_SECONDS
        version = await self._run(LoginsDb.data_version)
        if version != self._data_version:
            self._data_version = version
            self._changes += 1
            self._rows.clear()
            self._tokens_before.clear()

    async def _run(self, work: Callable[[LoginsDb], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, work)

    def _call(self, work: Callable[[LoginsDb], T]) -> T:
        if self._db is None:
            self._db = LoginsDb(self.path)
            self._db.note_passwords(self._fingerprints, int(time.time()))
        return work(self._db)

    def _token_created(self, authorization: Optional[str]) -> Optional[int]:
        """When the Datasette API token (``Bearer dstok_...``) of a request that
        Datasette has verified was made (unix seconds); None for other tokens."""
        prefix = "Bearer dstok_"
        if not authorization or not authorization.startswith(prefix):
            return None
        try:
            created = self.datasette.unsign(authorization[len(prefix):], "token").get("t")
        except (BadSignature, AttributeError):
            return None
        return created if isinstance(created, int) else None

    def _unsign(self, cookie: str) -> Optional[dict]:
        try:
            session = self.datasette.unsign(cookie, NAMESPACE)
        except BadSignature:
            return None
        if not (isinstance(session, dict) and isinstance(session.get("a"), dict)
                and isinstance(session.get("s"), str)):
            return None
        return session
