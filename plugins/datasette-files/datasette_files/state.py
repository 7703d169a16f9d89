"""The plugin's state for one Datasette instance, hung off that instance: the
configured sources, the registry and the services, found by the views."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Coroutine

from .hashing import Hasher
from .registry import Registry
from .settings import Settings
from .sources import Sources
from .sync import SyncStatuses
from .thumbnails.service import ThumbnailService
from .uploads import UploadSessions

STATE_ATTRIBUTE = "_datasette_files_state"


@dataclass
class PluginState:
    # The plugin's configuration block, $env secrets resolved (read once at start-up).
    config: dict
    settings: Settings
    sources: Sources
    registry: Registry
    thumbnails: ThumbnailService
    hasher: Hasher
    uploads: UploadSessions = field(default_factory=UploadSessions)
    syncs: SyncStatuses = field(default_factory=SyncStatuses)
    # Running import jobs and syncs, held so they are not collected mid-run.
    background_jobs: set = field(default_factory=set)

    def start(self, coroutine: Coroutine) -> None:
        """Run ``coroutine`` in the background, holding on to its task."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.background_jobs.add(task)
        task.add_done_callback(self.background_jobs.discard)


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
