"""The plugin's settings: the configuration block's keys besides ``sources``."""

from __future__ import annotations

from dataclasses import dataclass

# Below the request caps of common proxies (Cloudflare: 100 MB), large enough to be quick.
DEFAULT_UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
DEFAULT_UPLOAD_EXPIRY_SECONDS = 6 * 60 * 60
DEFAULT_THUMBNAIL_TIMEOUT_SECONDS = 30.0


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

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        return cls(
            sync_on_start=bool(config.get("sync_on_start", True)),
            include_hidden=bool(config.get("include_hidden")),
            upload_chunk_size=int(config.get("upload_chunk_size") or DEFAULT_UPLOAD_CHUNK_SIZE),
            upload_expiry_seconds=int(
                config.get("upload_expiry_seconds") or DEFAULT_UPLOAD_EXPIRY_SECONDS),
            thumbnail_timeout_seconds=float(
                config.get("thumbnail_timeout_seconds") or DEFAULT_THUMBNAIL_TIMEOUT_SECONDS),
        )
