"""POST /-/files/upload/{slug}/-/prepare, /-/upload, /-/parts and /-/complete, the
one-request PUT /-/files/upload/{slug}/{filename}, and many files in one
request: POST /-/files/upload/{slug}/-/batch."""

from __future__ import annotations

from typing import AsyncIterator
from urllib.parse import unquote

from datasette import Response

from ..errors import ApiError
from ..multipart import ClientDisconnected, FormField, MultipartStream, body_chunks
from ..parsing import whole_number
from ..naming import display_filename
from ..permissions import EDIT, UPLOAD, allowed_on_file
from ..state import state
from ..uploads import chunks, direct, tokens
from ..uploads.batch import BatchItem, BatchUpload, FieldSent, FileSent, PartSent
from ..uploads.checks import informative_type
from ..uploads.single_request import put_file
from .common import item_failure, json_api, json_object_body, require_method, source_for
from .file_json import file_json

TOKEN_HEADER = "x-upload-token"


@json_api
async def prepare_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    payload = await json_object_body(request)
    await tokens.expire_now_and_then(plugin.registry, plugin.sources, plugin.uploads)
    sha256 = direct.declared_sha256(payload)
    upload = await tokens.prepare(plugin.registry, source, request.actor, payload,
                                  plugin.settings.upload_expiry_seconds)
    answer = {
        "ok": True,
        "upload_token": upload.token,
        "upload_url": datasette.urls.path(f"/-/files/upload/{source.slug}/-/upload"),
        "upload_method": "POST",
        "upload_headers": {},
        "upload_fields": {"upload_token": upload.token},
        "file_id": upload.file_id,
        "expires_at": upload.expires_at,
        "transfer": upload.transfer,
    }
    if upload.transfer == direct.DIRECT:
        # The bucket takes the form; the token stays out of it (a policy
        # refuses fields it does not name): complete is sent it as always.
        post = await direct.presigned_post(source, upload, sha256)
        answer.update(upload_url=post.url, upload_fields=post.fields)
    elif upload.transfer == direct.MULTIPART:
        answer["multipart"] = direct.multipart_plan(
            upload, datasette.urls.path(f"/-/files/upload/{source.slug}/-/parts"))
    return Response.json(answer)


@json_api
async def parts_view(datasette, request):
    """Presigned URLs for parts of a multipart upload, and the parts the storage
    already holds (what a resumed upload need not send again)."""
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    payload = await json_object_body(request)
    upload = await tokens.load(plugin.registry, source, request.actor,
                               payload.get("upload_token"))
    numbers = direct.requested_parts(upload, payload.get("part_numbers")) \
        if upload.transfer == direct.MULTIPART else []
    return Response.json({"ok": True, **await direct.parts(plugin.registry, source, upload,
                                                           numbers)})


@json_api
async def upload_view(datasette, request):
    """Receive the bytes, as a multipart form (spec) or as the raw request body
    with the token in an ``X-Upload-Token`` header or ``upload_token`` query;
    a raw body with ``Content-Range`` is one chunk of a resumable upload.
    GET answers how many bytes of an upload the server has."""
    require_method(request, "POST", "GET")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    if request.method == "GET":
        upload = await tokens.load(plugin.registry, source, request.actor,
                                   _token_outside_body(request))
        return Response.json({"ok": True, **chunks.progress(plugin.uploads, upload)})
    content_range = request.headers.get("content-range")
    body = body_chunks(request.receive)
    try:
        if content_range is not None:
            upload = await tokens.load(plugin.registry, source, request.actor,
                                       _token_outside_body(request))
            upload = await chunks.receive_chunk(plugin.registry, plugin.uploads, source,
                                                upload, content_range, body)
            return Response.json({"ok": True, **chunks.progress(plugin.uploads, upload)})
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            form = MultipartStream(body, content_type)
            upload = await _upload_of_form(plugin, source, request, form)
            upload = await tokens.receive(plugin.registry, plugin.uploads, source, upload,
                                          form.file_data())
            await form.drain()
        else:
            upload = await tokens.load(plugin.registry, source, request.actor,
                                       _token_outside_body(request))
            upload = await tokens.receive(plugin.registry, plugin.uploads, source, upload, body)
    except ClientDisconnected:
        what = "chunk" if content_range is not None else "file"
        raise ApiError(f"The connection closed before the whole {what} arrived")
    return Response.json({"ok": True, "upload_token": upload.token,
                          "size": upload.received_bytes, "content_hash": upload.content_hash})


@json_api
async def put_view(datasette, request):
    """PUT /-/files/upload/{slug}/{filename}: store and register a file in one
    request, as ``curl -T photo.jpg .../-/files/upload/team/`` sends it."""
    require_method(request, "PUT")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    length = request.headers.get("content-length")
    if length is not None:
        length = whole_number(length)
        if length is None:
            raise ApiError("Content-Length must be a whole number of bytes")
    filename = unquote(request.url_vars["filename"])
    folder = request.args.get("folder")
    on_conflict = request.args.get("on_conflict") or None
    try:
        file = await put_file(
            plugin.registry, source, request.actor, filename,
            informative_type(request.headers.get("content-type")),
            length, body_chunks(request.receive), folder, on_conflict,
            await may_replace(datasette, request, source, folder, filename, on_conflict))
    except ClientDisconnected:
        raise ApiError("The connection closed before the whole file arrived")
    plugin.thumbnails.enqueue(file)
    return Response.json({"ok": True, "file": file_json(datasette, file)}, status=201)


@json_api
async def batch_view(datasette, request):
    """Many files in one multipart request, each with a result of its own."""
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError("Send the files as multipart/form-data", status=415)

    async def replaceable(folder: str, filename: str) -> frozenset:
        return await may_replace(datasette, request, source, folder, filename, "replace")

    batch = BatchUpload(plugin.registry, source, request.actor, replaceable)
    form = MultipartStream(body_chunks(request.receive), content_type)
    try:
        items = await batch.receive(_parts_of(form))
    except ClientDisconnected:
        raise ApiError("The connection closed before the whole batch arrived")
    except ApiError as ex:
        # Files handled before the request failed stay: say which.
        if batch.items:
            ex.details["results"] = [_item_json(datasette, item) for item in batch.items]
        raise
    for item in items:
        if item.file is not None:
            # Not every file, as a PUT's: other kinds' are drawn when first asked for.
            plugin.thumbnails.enqueue_eager(item.file)
    results = [_item_json(datasette, item) for item in items]
    return Response.json({
        "ok": all(result["ok"] for result in results),
        "results": results,
        "errors": [f"{result['name']}: {message}"
                   for result in results for message in result.get("errors", [])],
    })


async def _parts_of(form: MultipartStream) -> AsyncIterator[PartSent]:
    while (part := await form.next_part()) is not None:
        if isinstance(part, FormField):
            yield FieldSent(part.name, part.value)
        else:
            yield FileSent(part.filename, part.content_type, form.file_data())


def _item_json(datasette, item: BatchItem) -> dict:
    if item.file is not None:
        return {"name": item.name, "ok": True, "file": file_json(datasette, item.file)}
    return {"name": item.name, **item_failure(item.error, repr(item.name))}


@json_api
async def complete_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    payload = await json_object_body(request)
    upload = await tokens.load(plugin.registry, source, request.actor,
                               payload.get("upload_token"))

    async def register(upload):
        return await tokens.complete(
            plugin.registry, source, upload, payload.get("sha256"),
            await may_replace(datasette, request, source, upload.folder, upload.filename,
                              upload.on_conflict))

    if upload.transfer != direct.SERVER and upload.status != "uploaded":
        # One complete at a time joins the parts, checks the object and
        # registers the file (and the token is not expired meanwhile).
        with plugin.uploads.receiving(upload.token, "This upload is being completed already"):
            # Read again: a complete that has just finished spent the token.
            upload = await tokens.load(plugin.registry, source, request.actor, upload.token)
            if upload.status != "uploaded":
                upload = await direct.finish(plugin.registry, source, upload)
            file = await register(upload)
    else:
        if upload.multipart_id is not None:
            await direct.abort_multipart(source, upload)  # the bytes came through us instead
        await direct.discard_staged(source, upload)
        file = await register(upload)
    plugin.thumbnails.enqueue(file)
    if file.content_hash is None:
        plugin.hasher.wake.set()
    return Response.json({"ok": True, "file": file_json(datasette, file)}, status=201)


async def _upload_of_form(plugin, source, request, form: MultipartStream):
    """The upload a multipart form is for, once its file part starts. The token
    (in a header, the query, or the form's upload_token field) is checked as
    soon as it is known: before the form's first byte is read, or as soon as
    its field ends, so a form with a bad token is refused before anything more
    of it is read."""
    token = _token_outside_body(request)
    upload = await tokens.load(plugin.registry, source, request.actor, token) if token else None
    part = await form.next_part()
    while isinstance(part, FormField):
        if part.name == "upload_token" and upload is None:
            upload = await tokens.load(plugin.registry, source, request.actor, part.value)
        part = await form.next_part()
    if part is None:
        raise ApiError("No file in the form: send the file in a 'file' field, "
                       "after the upload_token field")
    if upload is None:
        raise ApiError("'upload_token' is required before the file: use the token "
                       "returned by prepare")
    return upload


async def may_replace(datasette, request, source, folder, filename, on_conflict) -> frozenset:
    """The file an upload with on_conflict=replace would replace, if the actor
    may edit it (the check at registration refuses any other)."""
    if on_conflict != "replace" or not isinstance(folder or "", str) \
            or not isinstance(filename, str):
        return frozenset()
    existing = await state(datasette).registry.files.named(
        source.slug, (folder or "").strip("/"), display_filename(filename))
    if existing is None or not await allowed_on_file(datasette, request.actor, EDIT, existing):
        return frozenset()
    return frozenset({existing.id})


def _token_outside_body(request):
    return request.headers.get(TOKEN_HEADER) or request.args.get("upload_token")
