"""The file page's builders for text, JSON, Markdown and CSV previews."""

from __future__ import annotations

from ..previews.text import for_template
from ..registry import FileRow
from ..sources import Source
from ..state import state

TEXT_KINDS = ("text", "json", "markdown", "csv")


def text_builder(kind: str):
    """The preview builder of one of TEXT_KINDS."""

    async def build(datasette, request, file: FileRow, source: Source) -> dict:
        plugin = state(datasette)
        # The worker's time limit, when configured lower, bounds previews too.
        return for_template(await plugin.text_previews.preview(
            kind, file, source, plugin.registry, plugin.hasher.wake.set,
            timeout=plugin.settings.thumbnail_timeout_seconds))

    return build


TEXT_BUILDERS = {kind: text_builder(kind) for kind in TEXT_KINDS}
