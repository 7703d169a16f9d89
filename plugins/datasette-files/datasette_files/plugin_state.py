"""The plugin's state for one Datasette instance, hung off that instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .registry import FileRegistry
from .sources import Sources

if TYPE_CHECKING:
    from .thumbnails.service import ThumbnailService

STATE_ATTRIBUTE = "_datasette_files_state"
DEFAULT_UPLOAD_EXPIRY_SECONDS = 6 * 60 * 60
# Below the request caps of common proxies (Cloudflare: 100 MB), large enough to be quick.
DEFAULT_UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024


@dataclass
class PluginState:
    sources: Sources
    registry: FileRegistry
    thumbnails: "ThumbnailService"
    config: dict = field(default_factory=dict)
    # time.monotonic() of the last sweep of expired upload tokens
    last_expiry_run: float = 0.0
    # Running import jobs and syncs (asyncio tasks), held so they are not collected.
    background_jobs: set = field(default_factory=set)
    # The last or current sync of each source, by slug.
    syncs: dict = field(default_factory=dict)
    hasher: object = None
    # Upload tokens whose bytes a request is receiving right now.
    receiving: set = field(default_factory=set)
    # token -> (bytes received, running sha256) of resumable uploads between chunks
    chunk_hashes: dict = field(default_factory=dict)

    def sync_status(self, slug: str):
        from .sync import SyncStatus

        return self.syncs.setdefault(slug, SyncStatus())

    def start(self, coroutine) -> None:
        """Run ``coroutine`` in the background, holding on to its task."""
        import asyncio

        task = asyncio.get_running_loop().create_task(coroutine)
        self.background_jobs.add(task)
        task.add_done_callback(self.background_jobs.discard)

    def upload_chunk_size(self, source) -> int:
        """Chunk size the upload page sends large files to ``source`` in; 0 when its
        storage takes whole files only."""
        from .chunked_uploads import MAX_CHUNK_BYTES

        if not hasattr(source.storage, "write_chunk"):
            return 0
        configured = int(self.config.get("upload_chunk_size") or DEFAULT_UPLOAD_CHUNK_SIZE)
        return max(1, min(configured, MAX_CHUNK_BYTES))

    @property
    def upload_expiry_seconds(self) -> int:
        return int(self.config.get("upload_expiry_seconds") or DEFAULT_UPLOAD_EXPIRY_SECONDS)


def state(datasette) -> PluginState:
    """This Datasette instance's plugin state; it exists once start-up has run."""
    try:
        return getattr(datasette, STATE_ATTRIBUTE)
    except AttributeError:
        raise RuntimeError(
            "datasette-files has not started yet: await datasette.invoke_startup() first"
        ) from None


def set_state(datasette, plugin_state: PluginState) -> None:
    setattr(datasette, STATE_ATTRIBUTE, plugin_state)
