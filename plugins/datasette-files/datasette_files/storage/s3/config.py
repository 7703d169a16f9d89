"""An ``s3-compatible`` source's configuration, read and checked once at start-up.

Credentials are never part of it: a key pasted into datasette.yaml ends up in
backups, repositories and screenshots. They come from datasette-secrets (the
``*_secret`` keys name the secrets) or from the standard AWS chain
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``, ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``: what
``fly storage create`` sets for Tigris), which botocore reads itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from ...base import DEFAULT_MAX_FILE_SIZE
from ...errors import ConfigError

# S3's own rules, loosely: 3-63 lowercase letters, digits, '.', '-' (R2, B2 and
# MinIO accept the same). Underscores and capitals are legacy us-east-1 only.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,62}$")
KNOWN_KEYS = frozenset({
    "bucket", "prefix", "region", "endpoint_url", "access_key_id_secret",
    "secret_access_key_secret", "session_token_secret", "cors_origins", "manage_cors",
    "max_file_size", "part_size", "checksums", "proxy_downloads",
    "presigned_post", "timeout_seconds",
})
# Keys that would put a credential in the config file itself.
_CREDENTIAL_KEYS = ("access_key_id", "secret_access_key", "session_token",
                    "aws_access_key_id", "aws_secret_access_key", "aws_session_token")
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000  # S3's limit for one multipart upload
# How long one request to the bucket may wait to connect, and then between
# bytes: botocore's default (60 s, times its retries) kept a request waiting on
# a hung bucket for minutes.
DEFAULT_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Credentials:
    """Keys read from datasette-secrets; ``repr`` never shows them."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class S3Config:
    """Where a source's objects are, and how to reach them."""

    bucket: str
    prefix: str = ""
    region: Optional[str] = None
    endpoint_url: Optional[str] = None
    # None: botocore's own chain (environment, shared files, instance roles).
    credentials: Optional[Credentials] = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    manage_cors: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    part_size: int = DEFAULT_PART_SIZE
    # Send each write's SHA-256 for the service to check and keep (off for a
    # service that refuses the x-amz-checksum-* headers).
    checksums: bool = True
    # Downloads stream through the server instead of redirecting to the bucket:
    # for a bucket browsers cannot reach (a private network's MinIO, say).
    proxy_downloads: bool = False
    # Whether the service takes S3's POST Object (Cloudflare R2 does not): without
    # it, direct uploads go in presigned parts only.
    presigned_post: bool = True
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def client_arguments(self) -> dict:
        """Keyword arguments for ``session.create_client("s3", ...)``."""
        arguments: dict = {}
        if self.region:
            arguments["region_name"] = self.region
        if self.endpoint_url:
            arguments["endpoint_url"] = self.endpoint_url
        if self.credentials is not None:
            arguments["aws_access_key_id"] = self.credentials.access_key_id
            arguments["aws_secret_access_key"] = self.credentials.secret_access_key
            if self.credentials.session_token:
                arguments["aws_session_token"] = self.credentials.session_token
        return arguments


async def read_config(config: dict, get_secret: Callable) -> S3Config:
    """The checked configuration; ConfigError naming the first problem."""
    if not isinstance(config, dict):
        raise ConfigError("s3-compatible storage needs a 'config' mapping with a 'bucket'")
    for key in _CREDENTIAL_KEYS:
        if key in config:
            raise ConfigError(
                f"'{key}' must not be in the config file: put the credential in a "
                "datasette-secrets secret and name it with 'access_key_id_secret' / "
                "'secret_access_key_secret', or set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment")
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(map(repr, unknown))}; expected "
                          f"some of: {', '.join(sorted(KNOWN_KEYS))}")
    bucket = config.get("bucket")
    if not isinstance(bucket, str) or not _BUCKET_NAME.match(bucket):
        raise ConfigError("s3-compatible storage needs a 'bucket' key: the bucket's name "
                          f"(3-63 lowercase letters, digits, '.', '-'), got {bucket!r}")
    max_file_size = _positive(config, "max_file_size", DEFAULT_MAX_FILE_SIZE)
    part_size = _part_size(config.get("part_size"))
    if max_file_size > MAX_PARTS * part_size:
        raise ConfigError(f"max_file_size {max_file_size} needs parts larger than part_size "
                          f"{part_size}: a multipart upload has at most {MAX_PARTS} parts")
    return S3Config(
        bucket=bucket,
        prefix=normalise_prefix(config.get("prefix")),
        # botocore reads AWS_DEFAULT_REGION only; Fly's Tigris sets AWS_REGION.
        region=_optional_string(config, "region") or os.environ.get("AWS_REGION") or None,
        endpoint_url=_endpoint(config.get("endpoint_url")),
        credentials=await _credentials(config, get_secret),
        cors_origins=_origins(config.get("cors_origins")),
        manage_cors=_boolean(config, "manage_cors"),
        max_file_size=max_file_size,
        part_size=part_size,
        checksums=_boolean(config, "checksums", True),
        proxy_downloads=_boolean(config, "proxy_downloads"),
        presigned_post=_boolean(config, "presigned_post", True),
        timeout_seconds=_seconds(config, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
    )


def normalise_prefix(value) -> str:
    """'' or a prefix of plain path segments ending in '/' ('team/files' ->
    'team/files/'); ConfigError for one that would not name a folder."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"prefix must be a string, got {value!r}")
    stripped = value.strip("/")
    if not stripped:
        return ""
    parts = stripped.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in stripped or "\x00" in stripped:
        raise ConfigError(f"prefix {value!r} must be plain folder names separated by '/'")
    return stripped + "/"


async def _credentials(config: dict, get_secret: Callable) -> Optional[Credentials]:
    key_name = _optional_string(config, "access_key_id_secret")
    secret_name = _optional_string(config, "secret_access_key_secret")
    token_name = _optional_string(config, "session_token_secret")
    if not key_name and not secret_name:
        if token_name:
            raise ConfigError("'session_token_secret' needs 'access_key_id_secret' and "
                              "'secret_access_key_secret' too")
        return None
    if not (key_name and secret_name):
        raise ConfigError("name both 'access_key_id_secret' and 'secret_access_key_secret' "
                          "(or neither, to use the AWS environment variables)")
    values = {}
    for label, name in (("access_key_id_secret", key_name),
                        ("secret_access_key_secret", secret_name),
                        ("session_token_secret", token_name)):
        if not name:
            continue
        value = await get_secret(name)
        if not value:
            # The secret's name only: never its value.
            raise ConfigError(f"{label} names the secret {name!r}, which is not set: set it "
                              f"at /-/secrets or in DATASETTE_SECRETS_{name}")
        values[label] = value
    return Credentials(values["access_key_id_secret"], values["secret_access_key_secret"],
                       values.get("session_token_secret"))


def _optional_string(config: dict, key: str) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    return value.strip()


def _endpoint(value) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"endpoint_url must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _origins(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("cors_origins must be a list of origins such as "
                          "'https://files.example.com'")
    origins = []
    for origin in value:
        origin = origin.strip().rstrip("/")
        if origin != "*" and not re.fullmatch(r"https?://[^\s/]+", origin):
            raise ConfigError(f"cors_origins: {origin!r} is not an origin (scheme://host[:port], "
                              "no path)")
        origins.append(origin)
    return tuple(origins)


def _boolean(config: dict, key: str, default: bool = False) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def _positive(config: dict, key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key} must be a positive number of bytes, got {value!r}")
    return value


def _seconds(config: dict, key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key} must be a positive whole number of seconds, got {value!r}")
    return value


def _part_size(value) -> int:
    if value is None:
        return DEFAULT_PART_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_PART_SIZE:
        raise ConfigError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum "
                          f"part), got {value!r}")
    return value


