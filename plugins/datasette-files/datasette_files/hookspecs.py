"""Plugin hooks that datasette-files adds to Datasette's plugin manager."""

from pluggy import HookspecMarker

hookspec = HookspecMarker("datasette")


@hookspec
def register_files_storage_types(datasette):
    """Return a list of ``Storage`` subclasses (classes, not instances)."""


@hookspec
def register_thumbnail_generators(datasette):
    """Return a list of ``ThumbnailGenerator`` instances."""


@hookspec
def file_actions(datasette, actor, file, preview_bytes):
    """Return a list of ``{"href", "label", "description"}`` dicts (or an awaitable)."""
