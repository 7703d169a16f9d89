"""Settings read from the environment, with the defaults of a local checkout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "datasette.yaml"


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment."""

    data_dir: Path
    config_path: Path
    host: str
    port: int
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto headers are believed:
    # only the reverse proxy in front of us ("" when there is none: nobody's).
    forwarded_allow_ips: str
    # Seconds that in-flight requests get to finish after SIGTERM.
    shutdown_timeout: int
    # How long a login lasts.
    session_seconds: int

    @classmethod
    def from_environment(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("DATA_DIR") or REPO_ROOT / "data").absolute(),
            config_path=Path(env.get("CONFIG_PATH") or DEFAULT_CONFIG).absolute(),
            host=env.get("HOST") or "127.0.0.1",
            port=int(env.get("PORT") or 8001),
            forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS") or "",
            shutdown_timeout=int(env.get("SHUTDOWN_TIMEOUT") or 25),
            session_seconds=int(float(env.get("SESSION_DAYS") or 14) * 86400),
        )
