"""The plugin's settings: the configuration block's keys besides ``sources``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .base import DEFAULT_MAX_FILE_SIZE
from .errors import ConfigError

# Below the request caps of common proxies (Cloudflare: 100 MB), large enough to be quick.
DEFAULT_UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
DEFAULT_UPLOAD_EXPIRY_SECONDS = 6 * 60 * 60
DEFAULT_THUMBNAIL_TIMEOUT_SECONDS = 30.0
DEFAULT_HASH_RETRY_SECONDS = 60.0
# Room for one more file of the default largest size.
DEFAULT_MIN_FREE_SPACE = DEFAULT_MAX_FILE_SIZE
DEFAULT_TEMP_SWEEP_INTERVAL_SECONDS = 300.0
DEFAULT_TRASH_RETENTION_DAYS = 30.0
# Teammates' changes show within this (the issue asks for 30 s at most).
DEFAULT_LIVE_POLL_SECONDS = 15.0


@dataclass(frozen=True)
class Settings:
    """What the ``datasette-files`` plugin configuration says, with defaults."""

    # Sync every source that can list its files when the server starts.
    sync_on_start: bool = True
    # Sync registers dotfiles and system files too.
    include_hidden: bool = False
    # The upload page sends larger files in chunks of this many bytes.
    upload_chunk_size: int = DEFAULT_UPLOAD_CHUNK_SIZE
    # An upload token lasts this long after prepare.
    upload_expiry_seconds: int = DEFAULT_UPLOAD_EXPIRY_SECONDS
    # A thumbnail generator gets this long per file.
    thumbnail_timeout_seconds: float = DEFAULT_THUMBNAIL_TIMEOUT_SECONDS
    # A file that could not be hashed is tried again after this long, then after
    # twice as long each time, up to a day.
    hash_retry_seconds: float = DEFAULT_HASH_RETRY_SECONDS
    # A writable source with fewer free bytes than this is reported degraded
    # (in /-/health); 0 turns the check off.
    min_free_space: int = DEFAULT_MIN_FREE_SPACE
    # One search query may run this long (None: Datasette's sql_time_limit_ms,
    # which also caps it); a search that runs out answers 503.
    search_time_limit_ms: Optional[int] = None
    # Expired uploads and temporary files nothing uses are removed this often.
    temp_sweep_interval_seconds: float = DEFAULT_TEMP_SWEEP_INTERVAL_SECONDS
    # What is deleted stays in the trash this long, then is purged for good.
    trash_retention_days: float = DEFAULT_TRASH_RETENTION_DAYS
    # A source or folder page asks whether its listing changed this often.
    live_poll_seconds: float = DEFAULT_LIVE_POLL_SECONDS

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        """The settings in ``config``; ConfigError naming a value that is not a
        positive number where one is needed."""
        return cls(
            sync_on_start=bool(config.get("sync_on_start", True)),
            include_hidden=bool(config.get("include_hidden")),
            upload_chunk_size=_positive(config, "upload_chunk_size", int,
                                        DEFAULT_UPLOAD_CHUNK_SIZE),
            upload_expiry_seconds=_positive(config, "upload_expiry_seconds", int,
                                            DEFAULT_UPLOAD_EXPIRY_SECONDS),
            thumbnail_timeout_seconds=_positive(config, "thumbnail_timeout_seconds", float,
                                                DEFAULT_THUMBNAIL_TIMEOUT_SECONDS),
            hash_retry_seconds=_positive(config, "hash_retry_seconds", float,
                                         DEFAULT_HASH_RETRY_SECONDS),
            min_free_space=_positive(config, "min_free_space", int, DEFAULT_MIN_FREE_SPACE,
                                     zero_allowed=True),
            search_time_limit_ms=_positive(config, "search_time_limit_ms", int, None),
            temp_sweep_interval_seconds=_positive(config, "temp_sweep_interval_seconds", float,
                                                  DEFAULT_TEMP_SWEEP_INTERVAL_SECONDS),
            trash_retention_days=_positive(config, "trash_retention_days", float,
                                           DEFAULT_TRASH_RETENTION_DAYS),
            live_poll_seconds=_positive(config, "live_poll_seconds", float,
                                        DEFAULT_LIVE_POLL_SECONDS),
        )


def _positive(config: dict, key: str, kind: type, default, zero_allowed: bool = False):
    value = config.get(key)
    if value is None:
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or number < 0 or (
            number == 0 and not zero_allowed):
        expected = "a number, 0 or more" if zero_allowed else "a positive number"
        raise ConfigError(f"datasette-files: {key} must be {expected}, got {value!r}")
    return number
