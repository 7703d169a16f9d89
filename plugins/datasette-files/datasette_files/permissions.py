"""Actions, resources and the SQL rules behind them.

``files-browse`` and ``files-upload`` act on a source; ``files-edit`` and
``files-delete`` act on a file, whose parent is its source, so Datasette's
cascade makes a source-level grant apply to every file in it. Nothing is
allowed unless a rule allows it.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Optional

from datasette.permissions import Action, PermissionSQL, Resource
from datasette.utils import actor_matches_allow

from .registry import AllowedSQL, FileRow

BROWSE = "files-browse"
UPLOAD = "files-upload"
EDIT = "files-edit"
DELETE = "files-delete"
MANAGE = "files-manage-sources"
# Datasette's: may the actor see this instance at all (the config's root ``allow``).
VIEW_INSTANCE = "view-instance"
# Granted to nobody: a check that allows it was skipped (Datasette skips them
# for datasette.client(skip_permission_checks=True)), so its verdicts are not
# the actor's own and must not be remembered.
NEVER_GRANTED = "files-never-granted"
# How long a view-instance verdict is kept for an actor.
INSTANCE_VERDICT_SECONDS = 10.0
ACTIONS = (BROWSE, UPLOAD, EDIT, DELETE, MANAGE)
OWNER_SETTINGS = {EDIT: "owners_can_edit", DELETE: "owners_can_delete"}


class SourceResource(Resource):
    """A configured source, identified by its slug."""

    name = "files-source"
    parent_class = None

    def __init__(self, slug: str):
        super().__init__(parent=slug, child=None)

    @classmethod
    async def resources_sql(cls, datasette, actor=None) -> str:
        return "SELECT slug AS parent, NULL AS child FROM datasette_files_sources"


class FileResource(Resource):
    """A registered file, inside its source."""

    name = "file"
    parent_class = SourceResource

    def __init__(self, source_slug: str, file_id: str):
        super().__init__(parent=source_slug, child=file_id)

    @classmethod
    async def resources_sql(cls, datasette, actor=None) -> str:
        return "SELECT source_slug AS parent, id AS child FROM datasette_files_files"


def actions() -> list[Action]:
    return [
        Action(
            name=NEVER_GRANTED,
            abbr=None,
            description="Never granted to anyone: tells the plugin a real permission "
                        "check from one Datasette skips",
        ),
        Action(
            name=BROWSE,
            abbr="fb",
            description="Browse, search, view and download files in a source",
            resource_class=SourceResource,
        ),
        Action(
            name=UPLOAD,
            abbr="fu",
            description="Upload files to a source",
            resource_class=SourceResource,
        ),
        Action(
            name=MANAGE,
            abbr="fms",
            description="Sync a source with its storage",
            resource_class=SourceResource,
        ),
        Action(
            name=EDIT,
            abbr="fe",
            description="Edit a file's metadata, such as its search text",
            resource_class=FileResource,
        ),
        Action(
            name=DELETE,
            abbr="fd",
            description="Delete a file",
            resource_class=FileResource,
        ),
    ]


def rules_sql(
    action: str, actor: Optional[dict], root_permissions: dict, plugin_config: dict
) -> list[PermissionSQL]:
    """The rules this plugin adds for ``action``.

    Datasette reads a root ``permissions:`` entry that is an actor matcher
    (``true``, ``{id: alice}``, ``{roles: admin}``) itself. It does not know
    per-source blocks (``{source-slug: {allow: ...}}``): those become
    source-level rules here, which outrank the global deny Datasette derives
    from a block it cannot match.
    """
    if action not in ACTIONS:
        return []
    rules = []
    block = root_permissions.get(action)
    sources = (plugin_config.get("sources") or {}).keys()
    if _is_per_source_block(block, sources):
        source_rules = []
        for slug, entry in block.items():
            allowed = _evaluate_source_entry(actor, entry)
            if allowed is not None:
                verdict = "allowed" if allowed else "denied"
                reason = f"datasette-files: {action} {verdict} on source {slug}"
                source_rules.append([str(slug), int(allowed), reason])
        # One rule set per action, its rows in a JSON parameter: parameter names
        # must not collide when Datasette merges every plugin's rules.
        rules.append(
            PermissionSQL(
                sql="""SELECT json_extract(value, '$[0]') AS parent, NULL AS child,
                    json_extract(value, '$[1]') AS allow, json_extract(value, '$[2]') AS reason
                    FROM json_each(:datasette_files_source_rules)""",
                params={"datasette_files_source_rules": json.dumps(source_rules)},
            )
        )
    owner_setting = OWNER_SETTINGS.get(action)
    if owner_setting and plugin_config.get(owner_setting) and actor and actor.get("id"):
        # Files in the trash too: their owner may restore or purge them.
        rules.append(
            PermissionSQL(
                sql="""SELECT source_slug AS parent, id AS child, 1 AS allow,
                    'datasette-files: owner of the file' AS reason
                    FROM datasette_files_files WHERE uploaded_by = :datasette_files_owner_id
                    UNION ALL
                    SELECT source_slug, id, 1, 'datasette-files: owner of the file'
                    FROM datasette_files_trash WHERE uploaded_by = :datasette_files_owner_id""",
                params={"datasette_files_owner_id": str(actor["id"])},
            )
        )
    return rules


def _is_per_source_block(block, source_slugs) -> bool:
    """An actor matcher's values are strings, lists or booleans; a per-source
    block maps source slugs to ``{allow: ...}`` mappings."""
    if not isinstance(block, dict) or not block:
        return False
    if all(isinstance(value, dict) for value in block.values()):
        return True
    return all(str(key) in source_slugs for key in block)


def _evaluate_source_entry(actor, entry) -> Optional[bool]:
    if isinstance(entry, bool):
        return entry
    if isinstance(entry, dict) and "allow" in entry:
        allow = entry["allow"]
        if allow is None:
            return False
        return actor_matches_allow(actor, allow)
    return None


async def allowed_sources_sql(datasette, actor, action: str = BROWSE) -> AllowedSQL:
    """SQL for the slugs of the sources ``actor`` may act on, for use in queries."""
    resources = await datasette.allowed_resources_sql(action=action, actor=actor)
    return AllowedSQL(sql=resources.sql, params=dict(resources.params))


class InstanceVerdicts:
    """Whether an actor may see the instance at all (``view-instance``): no
    file is theirs to see or change when it is closed to them, whatever the
    files-* grants say.

    Every request to the plugin asks, and a permission query costs about half a
    millisecond of CPU, as much as serving a small download; so an actor's
    verdict is kept INSTANCE_VERDICT_SECONDS. Roles and grants come from the
    configuration, read at start-up, so a verdict changes only with the actor.
    A verdict from a check Datasette skipped is used once, never kept.
    """

    def __init__(self, seconds: float = INSTANCE_VERDICT_SECONDS,
                 clock: Callable[[], float] = time.monotonic, most: int = 10_000):
        self.seconds = seconds
        self.clock = clock
        self.most = most
        self._kept: dict[str, tuple[bool, float]] = {}

    async def may_view(self, datasette, actor: Optional[dict]) -> bool:
        key = json.dumps(actor, sort_keys=True, default=repr)
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and kept[1] > now:
            return kept[0]
        # One query answers both: the probe costs nothing extra.
        verdicts = await datasette.allowed_many(
            actions=[VIEW_INSTANCE, NEVER_GRANTED], actor=actor)
        if not verdicts[NEVER_GRANTED]:
            if len(self._kept) >= self.most:  # bounded under a spray of forged actors
                self._kept.clear()
            self._kept[key] = (verdicts[VIEW_INSTANCE], now + self.seconds)
        return verdicts[VIEW_INSTANCE]


async def allowed_on_source(datasette, actor, action: str, slug: str) -> bool:
    return await datasette.allowed(
        action=action, resource=SourceResource(slug), actor=actor
    )


async def allowed_on_file(datasette, actor, action: str, file: FileRow) -> bool:
    return await datasette.allowed(
        action=action, resource=FileResource(file.source_slug, file.id), actor=actor)


async def allowed_on_every_file(datasette, actor, action: str, slug: str) -> bool:
    """Whether a grant on the whole source gives ``action`` (a file action) on
    every file in it, present and future."""
    return await datasette.allowed(action=action, resource=FileResource(slug, None),
                                   actor=actor)


async def allowed_files_sql(datasette, actor, action: str) -> AllowedSQL:
    """SQL for the (parent, child) of every file ``actor`` may act on."""
    resources = await datasette.allowed_resources_sql(action=action, actor=actor)
    return AllowedSQL(sql=resources.sql, params=dict(resources.params))
