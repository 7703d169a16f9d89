"""POST /-/files/-/delete and /-/files/-/move: one action over many files.

Each file is checked exactly as its own endpoint checks it (``deletable_file``,
``plan_move``), so the rules cannot drift apart; a refusal of one file is that
file's result, and the others go on. Files that pass are then trashed or moved
a batch at a time: one registry write per batch instead of one or three per file.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Union

from datasette import Response

from ..errors import ApiError
from ..organise import names
from ..permissions import UPLOAD
from ..registry.placing import ON_CONFLICT
from ..state import state
from ..uploads.storing import actor_id_of
from .common import as_api_error, json_api, json_object_body, require_method, source_for
from .file_json import file_json
from .files import deletable_file, delete_file
from .organise import plan_move
from .organise_json import trash_item_json

log = logging.getLogger("datasette_files")
MAX_BULK_IDS = 1000
# Files trashed or moved in one change: big enough to share the writes, small
# enough that other writers wait at most one batch.
BATCH = 100
# And the bytes a batch copies to another source, with both sources' locks
# held: 100 files of 50 MiB kept a folder's creation waiting 51 s.
BATCH_BYTES = 64 * 1024 * 1024
# What a bulk move passes on to each file's move; a bulk move renames nothing.
MOVE_FIELDS = ("source", "folder", "on_conflict")

Outcome = Union[dict, Exception]


@json_api
async def bulk_delete_view(datasette, request):
    """Move each file to the trash, or delete each for good with ``permanent``."""
    require_method(request, "POST")
    body = await json_object_body(request)
    ids = bulk_ids(body)
    permanent = body.get("permanent", False)
    if not isinstance(permanent, bool):
        raise ApiError("'permanent' must be true or false")
    if permanent:
        async def delete_for_good(file_id: str) -> dict:
            file, _ = await deletable_file(datasette, request, file_id)
            return await delete_file(datasette, request, file, True)

        return _answer(ids, await _each(ids, delete_for_good))
    plugin = state(datasette)
    outcomes = await _each(ids, lambda file_id: deletable_file(datasette, request, file_id))
    for batch in batches(outcomes, lambda found: found[0].source_slug):
        items = await _per_file(batch, plugin.organiser.trash_files(
            [outcomes[i][0] for i in batch], actor_id_of(request.actor)))
        for file_id, item in zip(batch, items):
            outcomes[file_id] = item if isinstance(item, Exception) else {
                "deleted": file_id,
                "trash": trash_item_json(datasette, item, plugin.settings.trash_retention_days)}
    return _answer(ids, outcomes)


@json_api
async def bulk_move_view(datasette, request):
    """Move each file to ``source`` and/or ``folder``, names kept."""
    require_method(request, "POST")
    body = await json_object_body(request)
    ids = bulk_ids(body)
    if "filename" in body:
        raise ApiError("A bulk move keeps each file's name: leave out 'filename'")
    if "source" not in body and "folder" not in body:
        raise ApiError("Say where to move the files: 'folder', 'source' or both")
    where = {name: body[name] for name in MOVE_FIELDS if name in body}
    # Checked once for all: a bad destination is the request's fault, not a file's.
    if "folder" in where:
        names.folder_path(where["folder"])
    if not isinstance(where.get("source", ""), str):
        raise ApiError("'source' must be a source's slug")
    if where.get("source"):
        # An unknown destination, or one the actor may not upload to, is the
        # request's error (the contract), not the same 404 or 403 per file.
        await source_for(datasette, request, where["source"], UPLOAD)
    names.on_conflict(where.get("on_conflict"), "rename", ON_CONFLICT)
    plugin = state(datasette)
    outcomes = await _each(ids, lambda file_id: plan_move(datasette, request, file_id, where))
    # Plans differ only in the file, and where a file with no folder given lands.
    for batch in batches(outcomes, lambda plan: (plan.file.source_slug, plan.to.slug,
                                                 plan.folder), _bytes_copied):
        plans = [outcomes[i] for i in batch]
        first = plans[0]
        moved = await _per_file(batch, plugin.organiser.move_files(
            [plan.file for plan in plans], to=first.to, folder=first.folder,
            on_conflict=first.on_conflict, actor_id=actor_id_of(request.actor),
            may_replace=frozenset().union(*(plan.may_replace for plan in plans))))
        for file_id, row in zip(batch, moved):
            outcomes[file_id] = row if isinstance(row, Exception) else {
                "file": file_json(datasette, row)}
    return _answer(ids, outcomes)


def bulk_ids(body: dict) -> list[str]:
    """The body's ``ids``: 1 to MAX_BULK_IDS file ids, each once, in order."""
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError("'ids' is required: a list of file ids, such as [\"df-...\"]")
    if len(ids) > MAX_BULK_IDS:
        raise ApiError(f"At most {MAX_BULK_IDS:,} files at once; this asked for {len(ids):,}")
    return list(dict.fromkeys(ids))


async def _each(ids: list[str], act: Callable[[str], Awaitable]) -> dict:
    """``act`` on each id in turn: id -> what it returned, or the error it raised."""
    outcomes = {}
    for file_id in ids:
        try:
            outcomes[file_id] = await act(file_id)
        except Exception as ex:
            outcomes[file_id] = ex
    return outcomes


async def _per_file(batch: list[str], acting: Awaitable[list]) -> list[Outcome]:
    """What ``acting`` on ``batch`` gave each file; an error of the whole batch
    (a sync of its source under way) is each file's, as the batches acted on
    before it stand and must still be answered for."""
    try:
        return await acting
    except Exception as ex:
        return [ex] * len(batch)


def batches(outcomes: dict, group: Callable,
            weight: Callable = lambda outcome: 0) -> list[list[str]]:
    """The ids whose outcome is not an error, grouped by ``group(outcome)``, in
    batches of at most BATCH ids and BATCH_BYTES of ``weight(outcome)`` (a
    heavier outcome alone)."""
    keyed: dict = {}  # group -> its batches, each [ids, their weight]
    for file_id, outcome in outcomes.items():
        if isinstance(outcome, Exception):
            continue
        batched = keyed.setdefault(group(outcome), [[[], 0]])
        heavy = weight(outcome)
        batch = batched[-1]
        if batch[0] and (len(batch[0]) == BATCH or batch[1] + heavy > BATCH_BYTES):
            batch = [[], 0]
            batched.append(batch)
        batch[0].append(file_id)
        batch[1] += heavy
    return [ids for batched in keyed.values() for ids, _ in batched]


def _bytes_copied(plan) -> int:
    """What ``plan`` copies: a move to another source copies the file's bytes."""
    return (plan.file.size or 0) if plan.to.slug != plan.file.source_slug else 0


def _answer(ids: list[str], outcomes: dict) -> Response:
    """One result per id, in order: its fields, or its error's status and messages."""
    results, errors = [], []
    for file_id in ids:
        outcome = outcomes[file_id]
        if not isinstance(outcome, Exception):
            results.append({"id": file_id, "ok": True, **outcome})
            continue
        error = as_api_error(outcome)
        if error is None:
            log.error("datasette-files: unexpected error on %s in a bulk action", file_id,
                      exc_info=outcome)
            error = ApiError("Internal error", status=500)
        results.append({"id": file_id, "ok": False, "status": error.status,
                        "errors": error.messages})
        errors.extend(f"{file_id}: {message}" for message in error.messages)
    return Response.json({"ok": not errors, "results": results, "errors": errors})
