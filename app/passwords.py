"""Password checks on their own small, bounded pool of threads.

A check is a pbkdf2 hash (about 0.2 s of CPU; hashlib releases the GIL). On
the default thread pool it would queue in front of file reads and writes, so
a flood of logins would stall every download. Here checks have their own
worker, and only a few may wait for it: beyond that a login is refused at once
(LoginsBusy) instead of queueing without bound. A flood queues logins and
nothing else.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Optional

from datasette_auth_passwords.utils import hash_password, verify_password

# One worker: on a small machine (2 cores) a second would take the core the
# event loop needs. The waiting room holds a burst of logins from the team (a
# few seconds of hashing at most); the 10 a single address may have in flight
# fit in it.
WORKERS = 1
WAITING = 15


class LoginsBusy(Exception):
    """Too many password checks are already waiting: try again shortly."""

    retry_after = 2


class PasswordChecker:
    def __init__(self, workers: int = WORKERS, waiting: int = WAITING):
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="password-check")
        # Held from submission until the check has finished (or was cancelled
        # before it started), even if the client that asked has gone.
        self._slots = threading.BoundedSemaphore(workers + waiting)
        self._dummy_hash: Optional[str] = None

    async def verify(self, password: str, password_hash: Optional[str]) -> bool:
        """Whether ``password`` matches ``password_hash``. With no hash (an
        unknown username) a dummy hash is checked, so the answer takes as long
        and the timing does not tell which usernames exist."""
        if not self._slots.acquire(blocking=False):
            raise LoginsBusy()
        job: Future = self._pool.submit(self._verify, password, password_hash)
        job.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(job)

    def _verify(self, password: str, password_hash: Optional[str]) -> bool:
        if not password_hash:
            if self._dummy_hash is None:
                self._dummy_hash = hash_password(secrets.token_urlsafe(16))
            password_hash = self._dummy_hash
        return verify_password(password, password_hash)
