"""POST endpoints that organise files: make, rename, move and delete folders;
rename and move files. Each refuses a read-only source, and a folder change
needs the right over every file the folder holds."""

from __future__ import annotations

from dataclasses import dataclass

from datasette import Response

from ..errors import ApiError, Forbidden, NotFound
from ..organise import names
from ..permissions import (
    BROWSE, DELETE, EDIT, UPLOAD, allowed_files_sql, allowed_on_every_file, allowed_on_file)
from ..registry import FileRow
from ..registry.placing import ON_CONFLICT, name_taken
from ..sources import Source
from ..state import state
from ..uploads.checks import check_size_fits
from ..uploads.storing import actor_id_of
from .common import file_for, json_api, json_object_body, require_method, source_for
from .file_json import file_json
from .organise_json import folder_json, trash_item_json

FOLDER_CONFLICTS = ("rename", "error")


@json_api
async def folders_view(datasette, request):
    """Every folder of a source, by path (a move dialog's choices)."""
    require_method(request, "GET", "HEAD")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    return Response.json({"ok": True, "source": source.slug,
                          "folders": await plugin.registry.folders.all_paths(source.slug)})


@json_api
async def create_folder_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    source.require_writable()
    body = await json_object_body(request)
    parent = names.folder_path(body.get("folder"))
    name = names.folder_name(body.get("name"))
    folder = await plugin.organiser.create_folder(
        source, parent, name, names.on_conflict(body.get("on_conflict"), "error",
                                                FOLDER_CONFLICTS), actor_id_of(request.actor))
    return Response.json({"ok": True, "folder": folder_json(datasette, folder)}, status=201)


@json_api
async def move_folder_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    source.require_writable()
    body = await json_object_body(request)
    if body.get("source") not in (None, source.slug):
        raise ApiError("A folder moves within its source: move its files to another source")
    path = _folder_of(body)
    current = await plugin.registry.folders.get(source.slug, path)
    if current is None or not path:
        raise NotFound(f"No folder {path!r} in source {source.slug!r}")
    parent = names.folder_path(body["folder"]) if "folder" in body else current.parent
    name = names.folder_name(body["name"]) if "name" in body else current.name
    await _may_act_on_folder(datasette, request, EDIT, source.slug, path)
    folder = await plugin.organiser.move_folder(
        source, path, parent=parent, name=name,
        on_conflict=names.on_conflict(body.get("on_conflict"), "error", FOLDER_CONFLICTS),
        actor_id=actor_id_of(request.actor))
    return Response.json({"ok": True, "folder": folder_json(datasette, folder)})


@json_api
async def delete_folder_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], BROWSE)
    source.require_writable()
    path = _folder_of(await json_object_body(request))
    if await plugin.registry.folders.get(source.slug, path) is None or not path:
        raise NotFound(f"No folder {path!r} in source {source.slug!r}")
    await _may_act_on_folder(datasette, request, DELETE, source.slug, path)
    item = await plugin.organiser.trash_folder(source, path, actor_id_of(request.actor))
    return Response.json({"ok": True, "trash": trash_item_json(
        datasette, item, plugin.settings.trash_retention_days)})


@json_api
async def move_file_view(datasette, request):
    """Move (``folder``, ``source``) and rename (``filename``) a file."""
    require_method(request, "POST")
    body = await json_object_body(request)
    return Response.json({"ok": True, **await move_file(
        datasette, request, request.url_vars["file_id"], body)})


@json_api
async def rename_file_view(datasette, request):
    require_method(request, "POST")
    body = await json_object_body(request)
    if "filename" not in body:
        raise ApiError("'filename' is required: the file's new name")
    return Response.json({"ok": True, **await move_file(
        datasette, request, request.url_vars["file_id"],
        {"filename": body["filename"], "on_conflict": body.get("on_conflict")})})


@dataclass(frozen=True)
class MovePlan:
    """A move the actor may make, checked: what ``Organiser.move_file`` takes."""

    file: FileRow
    to: Source
    folder: str
    filename: str
    on_conflict: str
    may_replace: frozenset


async def move_file(datasette, request, file_id: str, body: dict) -> dict:
    """Move file ``file_id`` as ``body`` says (``source``, ``folder``,
    ``filename``, ``on_conflict``); the answer's fields."""
    plan = await plan_move(datasette, request, file_id, body)
    moved = await state(datasette).organiser.move_file(
        plan.file, to=plan.to, folder=plan.folder, filename=plan.filename,
        on_conflict=plan.on_conflict, actor_id=actor_id_of(request.actor),
        may_replace=plan.may_replace)
    return {"file": file_json(datasette, moved)}


async def plan_move(datasette, request, file_id: str, body: dict) -> MovePlan:
    """The move of ``file_id`` that ``body`` asks for, once the actor may make it."""
    plugin = state(datasette)
    file, origin = await file_for(datasette, request, file_id, EDIT)
    origin.require_writable()
    slug = body.get("source") or origin.slug
    if not isinstance(slug, str):
        raise ApiError("'source' must be a source's slug")
    _, to = await source_for(datasette, request, slug, UPLOAD)
    to.require_writable()
    if to.slug != origin.slug and not (to.capabilities.can_upload
                                       and origin.capabilities.can_delete):
        raise ApiError(f"Files cannot be moved from {origin.slug!r} to {to.slug!r}: "
                       "one of them cannot store or delete files", status=409)
    if to.slug != origin.slug and file.size is not None:
        # The bytes are copied in as an upload would be: the same limits hold.
        await check_size_fits(to, file.size)
    folder = names.folder_path(body["folder"]) if "folder" in body else (
        file.folder if to.slug == origin.slug else "")
    filename = names.file_name(body["filename"]) if "filename" in body else file.filename
    on_conflict = names.on_conflict(body.get("on_conflict"), "rename", ON_CONFLICT)
    may_replace = frozenset()
    if on_conflict == "replace":
        existing = await plugin.registry.files.named(to.slug, folder, filename, file.id)
        if existing is not None:
            if not await allowed_on_file(datasette, request.actor, DELETE, existing):
                raise Forbidden(f"You may not replace {existing.filename!r}")
            may_replace = frozenset({existing.id})
    elif on_conflict == "error":
        existing = await plugin.registry.files.named(to.slug, folder, filename, file.id)
        if existing is not None:
            raise name_taken(existing)
    return MovePlan(file, to, folder, filename, on_conflict, may_replace)


def _folder_of(body: dict) -> str:
    if "path" not in body:
        raise ApiError("'path' is required: the folder's path, such as 'Reports/2024'")
    return names.folder_path(body["path"], "path")


async def _may_act_on_folder(datasette, request, action: str, slug: str, path: str) -> None:
    """``action`` must be allowed on every file the folder holds."""
    if await allowed_on_every_file(datasette, request.actor, action, slug):
        return
    files = state(datasette).registry.files
    refused = await files.count_in_tree_outside(
        slug, path, await allowed_files_sql(datasette, request.actor, action))
    if refused:
        raise Forbidden(f"You do not have {action} permission on {refused} of the files "
                        f"in {path!r}")

