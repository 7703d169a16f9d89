"""What logins share for the life of the server, hung off the Datasette
instance: the members' password hashes, the password checker, the live
sessions, and the failed attempts per account."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .attempts import RecentAttempts
from .config import AUTH_PLUGIN, PASSWORD_HASH_SUFFIX
from .passwords import PasswordChecker
from .sessions import Sessions

ATTRIBUTE = "files_server_logins"
# Per account: after this many failures within the window, attempts are
# refused except from addresses the member logged in from before.
ACCOUNT_LIMIT = 20
ACCOUNT_WINDOW = 15 * 60


@dataclass
class LoginState:
    # Member id -> password hash, as configured when the server started (they
    # come from the environment, which a running server never sees change).
    password_hashes: dict[str, str]
    passwords: PasswordChecker
    sessions: Sessions
    accounts: RecentAttempts


def attach_login_state(datasette, logins_db: Path, session_seconds: int) -> LoginState:
    config = datasette.plugin_config(AUTH_PLUGIN) or {}
    hashes = {key[: -len(PASSWORD_HASH_SUFFIX)]: value for key, value in config.items()
              if key.endswith(PASSWORD_HASH_SUFFIX) and value}
    state = LoginState(
        password_hashes=hashes,
        passwords=PasswordChecker(),
        sessions=Sessions(datasette, logins_db, session_seconds, hashes),
        accounts=RecentAttempts(ACCOUNT_LIMIT, ACCOUNT_WINDOW),
    )
    setattr(datasette, ATTRIBUTE, state)
    return state


def login_state(datasette) -> LoginState:
    return getattr(datasette, ATTRIBUTE)
