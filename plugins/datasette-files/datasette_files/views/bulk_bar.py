"""What a page's bulk bar (and a file page's Move) may offer the actor.

The bulk endpoints check every file and answer per item; this only keeps
buttons nobody could use off the page: Delete and Move appear for one who may
delete (edit) every file of the source, or their own files as an owner.
"""

from __future__ import annotations

from ..permissions import DELETE, EDIT, OWNER_SETTINGS, allowed_on_every_file
from ..sources import Source
from ..state import state


async def may_act_on_some_files(datasette, actor, action: str, source: Source) -> bool:
    """Whether ``action`` (files-edit, files-delete) is allowed on every file of
    the source, or on the actor's own files (owners_can_edit / owners_can_delete)."""
    if await allowed_on_every_file(datasette, actor, action, source.slug):
        return True
    owners_may = state(datasette).config.get(OWNER_SETTINGS[action])
    return bool(owners_may and actor and actor.get("id") is not None)


def move_targets(browsable: list[dict], source: Source) -> list[str]:
    """The sources a file of ``source`` may move to, of the ``browsable`` ones
    (pages.browsable_sources: the picker lists their folders) the actor may
    upload to; another source only if this one can delete the file."""
    return [s["slug"] for s in browsable
            if s["can_upload"] and (s["slug"] == source.slug or source.capabilities.can_delete)]


async def bulk_actions(datasette, actor, source: Source, browsable: list[dict]) -> dict:
    """``can_delete`` and ``move_targets`` for the source page's bulk bar."""
    writable = not source.read_only
    can_delete = writable and source.capabilities.can_delete and await may_act_on_some_files(
        datasette, actor, DELETE, source)
    may_move = writable and await may_act_on_some_files(datasette, actor, EDIT, source)
    return {"can_delete": can_delete,
            "move_targets": move_targets(browsable, source) if may_move else []}


async def search_bulk_actions(datasette, actor, browsable: list[dict]) -> dict:
    """The bulk bar of the search page, whose files come from any ``browsable``
    source: Delete if some source's files may be deleted, Move to the sources
    the actor may upload to, if some source's files may be edited."""
    sources = [state(datasette).sources.get(s["slug"]) for s in browsable]
    writable = [source for source in sources if not source.read_only]
    can_delete = False
    for source in writable:
        if source.capabilities.can_delete and await may_act_on_some_files(
                datasette, actor, DELETE, source):
            can_delete = True
            break
    may_move = False
    for source in writable:
        if await may_act_on_some_files(datasette, actor, EDIT, source):
            may_move = True
            break
    return {"can_delete": can_delete,
            "move_targets": [s["slug"] for s in browsable if s["can_upload"]] if may_move else []}
