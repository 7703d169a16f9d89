"""CSV import: preview page, start a job, and follow its progress (HTML and JSON)."""

from __future__ import annotations

import re
from typing import Optional

from datasette import Response
from datasette.resources import DatabaseResource, TableResource
from ulid import ULID

from ..csv_import.detect import (
    ColumnTypes, column_names, decode_sample, is_csv, preview_rows, sniff, table_name_for)
from ..clock import now_timestamp, parse_timestamp, utc_now
from ..csv_import.job import run_import
from ..errors import ApiError, MethodNotAllowed, NotFound, file_not_found
from ..registry import FileRow, ImportJob
from ..sources import Source
from ..state import state
from .common import (
    as_api_error, browsable_file, json_error, page_error, render, require_method)
from .negotiation import answers_json, fields_of_body

SAMPLE_BYTES = 64 * 1024
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


async def _csv_file(datasette, request) -> tuple[FileRow, Source]:
    """The file named in the URL, if it is a CSV the actor may browse; else 404."""
    file_id = request.url_vars["file_id"]
    found = await browsable_file(datasette, request.actor, file_id)
    if found is None:
        raise file_not_found(file_id)
    file, source = found
    if not is_csv(file.content_type, file.filename):
        raise NotFound(f"{file.filename} is not a CSV or TSV file")
    return file, source


async def target_databases(datasette, actor, table: str) -> list[str]:
    """Mutable databases where the actor may create ``table`` and insert rows into it."""
    names = []
    for name, db in datasette.databases.items():
        if name.startswith("_") or not db.is_mutable or db.is_memory:
            continue
        if await datasette.allowed(action="create-table", resource=DatabaseResource(name),
                                   actor=actor) and await datasette.allowed(
                action="insert-row", resource=TableResource(name, table), actor=actor):
            names.append(name)
    return names


async def preview_page(datasette, request):
    if request.method == "POST":
        return await start_import(datasette, request)
    if request.method not in ("GET", "HEAD"):
        # Only a script sends another method: the API's 405, in JSON.
        return json_error(request, MethodNotAllowed(
            f"Method {request.method} not allowed here; use GET or POST"))
    try:
        file, source = await _csv_file(datasette, request)
    except ApiError as ex:
        page_error(request, ex)
    return await _import_form(datasette, request, file, source)


async def _import_form(datasette, request, file: FileRow, source: Source,
                       refused: Optional[ApiError] = None, values: Optional[dict] = None
                       ) -> Response:
    """The preview and its form; after a refused import, with the values sent
    and the message saying what to change, answered with the error's status."""
    sample, encoding = decode_sample(await source.storage.read_bytes(file.path, SAMPLE_BYTES))
    delimiter, has_header = sniff(sample, file.filename)
    rows = preview_rows(sample, delimiter)
    width = len(rows[0]) if rows else 0
    header = rows[0] if rows and has_header else None
    body = rows[1:] if header else rows
    types = ColumnTypes()
    for cells in body:
        types.observe(cells[:width])
    values = values or {}
    table_name = _form_value(values, "table_name") or table_name_for(file.filename)
    return await render(datasette, request, "files_import.html", {
        "file": file,
        "columns": list(zip(column_names(header, width), types.sqlite_types(width))),
        "rows": [(cells + [""] * width)[:width] for cells in body[:10]],
        "delimiter": delimiter,
        "delimiter_name": {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(
            delimiter, repr(delimiter)),
        "has_header": has_header,
        "encoding": encoding,
        "databases": await target_databases(datasette, request.actor, table_name),
        "database": _form_value(values, "database") or _form_value(values, "database_name"),
        "table_name": table_name,
        "refused": refused.messages[0] if refused else None,
        "refused_field": refused.details.get("field") if refused else None,
    }, status=refused.status if refused else 200)


def _form_value(values: dict, name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


async def start_import(datasette, request):
    """Validate, then start the job. The fields may come as JSON or a form (by
    Content-Type); a client that wants JSON (by Accept) gets 202 with the job's
    URLs, a browser goes to the progress page."""
    wants_json = answers_json(request)
    try:
        file, source = await _csv_file(datasette, request)
        data = await fields_of_body(request)
    except Exception as ex:
        return (json_error if wants_json else page_error)(request, ex)
    try:
        job, db = await _validated_job(datasette, request, file, source, data)
    except Exception as ex:  # a storage's error too (reading the sample)
        if wants_json:
            return json_error(request, ex)
        error = as_api_error(ex)
        if error is None or error.status >= 500:
            page_error(request, ex)
        # A browser's form comes back filled in, saying what to change.
        return await _import_form(datasette, request, file, source, error, data)
    plugin = state(datasette)
    await plugin.registry.imports.create(job)
    plugin.jobs.start(run_import(plugin.registry.imports, source, file, job, db,
                                 plugin.imports_running))
    url = datasette.urls.path(f"/-/files/import/{file.id}/{job.id}")
    if wants_json:
        return Response.json({"ok": True, **_status(datasette, job), "url": url,
                              "json_url": url + ".json"}, status=202)
    return Response.redirect(url)


async def _validated_job(datasette, request, file: FileRow, source: Source, data: dict):
    """The job the fields ask for and the database it writes to, or an ApiError
    naming the ``field`` to change."""
    # database_name is the published datasette-files' name for the field.
    database = _text(data, "database") or _text(data, "database_name")
    table = _text(data, "table_name").strip()
    if database not in datasette.databases or database.startswith("_"):
        raise ApiError(f"'database' must name a database to import into, not {database!r}",
                       field="database")
    db = datasette.databases[database]
    if not db.is_mutable or db.is_memory:
        raise ApiError(f"Database {database!r} cannot be written to: choose another",
                       field="database")
    if not TABLE_NAME.match(table):
        raise ApiError("The table name must be letters, digits and underscores, "
                       "starting with a letter or underscore", field="table_name")
    actor = request.actor
    if not await datasette.allowed(action="create-table", resource=DatabaseResource(database),
                                   actor=actor):
        raise ApiError(f"You do not have create-table permission on {database!r}: "
                       "choose another database", status=403, field="database")
    if not await datasette.allowed(action="insert-row",
                                   resource=TableResource(database, table), actor=actor):
        raise ApiError(f"You do not have insert-row permission on {database!r}: "
                       "choose another database", status=403, field="database")
    if await db.table_exists(table):
        raise ApiError(f"A table named {table!r} already exists in {database!r}: "
                       "choose another name", status=409, field="table_name")
    delimiter = _text(data, "delimiter") or ","
    if delimiter not in (",", "\t", ";", "|"):
        raise ApiError("'delimiter' must be one of , ; | or a tab", field="delimiter")
    has_header = data.get("has_header", True)
    if not isinstance(has_header, (bool, str)):
        raise ApiError("'has_header' must be true or false", field="has_header")
    sample, encoding = decode_sample(await source.storage.read_bytes(file.path, SAMPLE_BYTES))
    has_header = has_header not in (False, "0", "false", "off", "")
    job = ImportJob(
        id=f"imp-{str(ULID()).lower()}", file_id=file.id,
        actor_id=str(actor["id"]) if actor and actor.get("id") is not None else None,
        database_name=database, table_name=table, delimiter=delimiter, has_header=has_header,
        encoding=encoding, status="queued", total_bytes=file.size, created_at=now_timestamp())
    return job, db


def _text(data: dict, name: str) -> str:
    """Field ``name`` of a JSON or form body as text ('' when absent or null)."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(f"'{name}' must be a string")
    return value


async def progress_page(datasette, request):
    """The progress page, or its JSON (``.json``), whose errors are JSON too."""
    as_json = request.url_vars.get("format") == "json"
    try:
        require_method(request, "GET", "HEAD")
        file, _ = await _csv_file(datasette, request)
        job = await state(datasette).registry.imports.get(request.url_vars["import_id"])
        if job is None or job.file_id != file.id:
            raise NotFound("No such import")
    except Exception as ex:
        return (json_error if as_json else page_error)(request, ex)
    status = _status(datasette, job)
    if as_json:
        return Response.json({"ok": True, **status})
    return await render(datasette, request, "files_import_progress.html",
                        {"file": file, "job": status})


# The published datasette-files' status words, which its clients poll for;
# ``state`` keeps ours (an interrupted job is an "error" to those clients).
PUBLISHED_STATUS = {"queued": "pending", "running": "running", "done": "finished",
                    "failed": "error", "interrupted": "error"}


def _status(datasette, job: ImportJob) -> dict:
    end = parse_timestamp(job.finished_at) if job.finished_at else utc_now()
    elapsed = (end - parse_timestamp(job.created_at)).total_seconds()
    total = job.total_bytes or 0
    percent = 100.0 if job.status == "done" else (
        round(min(job.bytes_read / total * 100, 99.9), 1) if total else 0.0)
    return {
        "import_id": job.id,
        "status": PUBLISHED_STATUS.get(job.status, job.status),
        "state": job.status,
        "database": job.database_name,
        "table": job.table_name,
        "rows_imported": job.rows_imported,
        "bytes_read": job.bytes_read,
        "total_bytes": job.total_bytes,
        "percent": percent,
        "elapsed_seconds": round(elapsed, 1),
        "encoding": job.encoding,
        "ragged_rows": job.ragged_rows,
        "message": job.message,
        "error": job.error,
        "table_url": datasette.urls.table(job.database_name, job.table_name)
        if job.status == "done" else None,
        # The same facts under the published datasette-files' names, which its
        # clients read (its ids are numbers; ours are not guessable).
        "id": job.id,
        "file_id": job.file_id,
        "import_type": "csv",
        "database_name": job.database_name,
        "table_name": job.table_name,
        "row_count": job.rows_imported,
        "total_size": total,
        "started_at": job.created_at,
        "finished_at": job.finished_at,
    }
