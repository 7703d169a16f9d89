"""Settings read from the environment, with the defaults of a local checkout."""

from __future__ import annotations

import ipaddress
import os
import resource
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "datasette.yaml"
# Descriptors kept for what is not a connection: the databases (each SQL thread
# has its own connection, WAL and shared-memory files), the logs, the listening
# socket, the thumbnail worker's pipes, hashing and imports.
RESERVED_FDS = 128
# Beyond this many, memory (a 256 MB machine) runs out before descriptors do.
MOST_CONNECTIONS = 1000
HTTP_PROTOCOLS = ("auto", "h11", "httptools")


def default_max_connections(fd_limit: int | None = None) -> int:
    """How many connections the server holds open at most, from the process's
    descriptor limit: each connection takes one for its socket and, while it
    uploads or downloads, usually one for the file; a reserve is kept aside."""
    if fd_limit is None:
        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(1, min(MOST_CONNECTIONS, (fd_limit - RESERVED_FDS) // 2))


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
    # A header the proxy in front sets to the client's address, whatever the
    # client sent (Fly-Client-IP on Fly.io); empty: the address is uvicorn's.
    client_ip_header: str
    # Seconds that in-flight requests get to finish after SIGTERM.
    shutdown_timeout: int
    # How long a login lasts.
    session_seconds: int
    # Seconds a request body may send nothing before it is cut off (408).
    request_body_timeout: float
    # Seconds a connection has for a request's headers, from when it opened or
    # its previous response ended.
    request_header_timeout: float
    # Open connections beyond this are refused (503).
    max_connections: int
    # uvicorn's HTTP implementation: auto (httptools when installed), h11 or httptools.
    http_protocol: str

    @classmethod
    def from_environment(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("DATA_DIR") or REPO_ROOT / "data").absolute(),
            config_path=Path(env.get("CONFIG_PATH") or DEFAULT_CONFIG).absolute(),
            host=env.get("HOST") or "127.0.0.1",
            port=int(env.get("PORT") or 8001),
            forwarded_allow_ips=_proxy_addresses(env, "FORWARDED_ALLOW_IPS"),
            client_ip_header=env.get("CLIENT_IP_HEADER") or "",
            shutdown_timeout=int(env.get("SHUTDOWN_TIMEOUT") or 25),
            session_seconds=int(float(env.get("SESSION_DAYS") or 14) * 86400),
            request_body_timeout=_positive(env, "REQUEST_BODY_TIMEOUT", float, 60),
            request_header_timeout=_positive(env, "REQUEST_HEADER_TIMEOUT", float, 20),
            max_connections=_positive(env, "MAX_CONNECTIONS", int, default_max_connections()),
            http_protocol=_one_of(env, "HTTP_PROTOCOL", HTTP_PROTOCOLS),
        )


def _proxy_addresses(env, name: str) -> str:
    """Comma-separated '*', addresses or networks (strict, as uvicorn reads them:
    a typo would otherwise trust nobody, and put every client behind the proxy
    under the proxy's one address for the login limits)."""
    value = (env.get(name) or "").strip()
    for item in filter(None, (part.strip() for part in value.split(","))):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item)
        except ValueError:
            raise ValueError(f"{name}: {item!r} is not an IP address or network "
                             "(such as 172.16.0.0/12), nor '*'") from None
    return value


def _one_of(env, name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or choices[0]
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _positive(env, name: str, kind: type, default):
    value = env.get(name)
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if not number > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number
