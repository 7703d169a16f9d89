"""The plugin's state for one Datasette instance, hung off that instance: the
configured sources, the registry and the services, found by the views."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Coroutine, Optional

from .archives import ArchiveSlots
from .csv_import.job import RUNNING_IMPORTS
from .hashing import Hasher
from .organise.service import Organiser
from .permissions import InstanceVerdicts
from .previews.pdf import PdfPages
from .previews.text import TextPreviews
from .registry import Registry
from .settings import Settings
from .sources import Sources
from .sync import SyncStatuses
from .thumbnails.service import ThumbnailService
from .uploads import UploadSessions

STATE_ATTRIBUTE = "_datasette_files_state"


class BackgroundJobs:
    """Running import jobs and syncs, held so they are not collected mid-run."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def start(self, coroutine: Coroutine) -> None:
        """Run ``coroutine`` in the background."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@dataclass
class PluginState:
    # The plugin's configuration block, $env secrets resolved (read once at start-up).
    config: dict
    settings: Settings
    sources: Sources
    registry: Registry
    thumbnails: ThumbnailService
    hasher: Hasher
    organiser: Organiser
    # The PDF viewer's page images (None only in states made without it).
    pdf_pages: Optional[PdfPages] = None
    uploads: UploadSessions = field(default_factory=UploadSessions)
    syncs: SyncStatuses = field(default_factory=SyncStatuses)
    jobs: BackgroundJobs = field(default_factory=BackgroundJobs)
    instance_verdicts: InstanceVerdicts = field(default_factory=InstanceVerdicts)
    # How many CSV imports may run at once; the others wait, queued.
    imports_running: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(RUNNING_IMPORTS))
    # The zip downloads being sent, bounded.
    archives: ArchiveSlots = field(default_factory=ArchiveSlots)
    # Text, JSON, Markdown and CSV previews: their renders and cache.
    text_previews: TextPreviews = field(default_factory=TextPreviews)
    # The OpenAPI description as served, made on its first request.
    openapi_json: Optional[str] = None


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
