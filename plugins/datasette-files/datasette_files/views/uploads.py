"""POST /-/files/upload/{slug}/-/prepare, /-/upload and /-/complete, and the
one-request PUT /-/files/upload/{slug}/{filename}."""

from __future__ import annotations

from urllib.parse import unquote

from datasette import Response

from .. import chunked_uploads, uploads
from ..errors import ApiError, json_api, require_method
from ..files import file_json
from ..multipart import ClientDisconnected, MultipartStream, body_chunks
from ..permissions import UPLOAD
from .common import json_object_body, source_for

TOKEN_HEADER = "x-upload-token"


@json_api
async def prepare_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    payload = await json_object_body(request)
    await uploads.expire_uploads_now_and_then(plugin)
    upload = await uploads.prepare(plugin, source, request.actor, payload)
    token = upload["token"]
    return Response.json(
        {
            "ok": True,
            "upload_token": token,
            "upload_url": datasette.urls.path(f"/-/files/upload/{source.slug}/-/upload"),
            "upload_method": "POST",
            "upload_headers": {},
            "upload_fields": {"upload_token": token},
            "file_id": upload["file_id"],
            "expires_at": upload["expires_at"],
        }
    )


@json_api
async def upload_view(datasette, request):
    """Receive the bytes, as a multipart form (spec) or as the raw request body
    with the token in an ``X-Upload-Token`` header or ``upload_token`` query;
    a raw body with ``Content-Range`` is one chunk of a resumable upload.
    GET answers how many bytes of an upload the server has."""
    require_method(request, "POST", "GET")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    if request.method == "GET":
        upload = await uploads.load_upload(plugin, source, request.actor,
                                           _token_outside_body(request))
        return Response.json({"ok": True, **chunked_uploads.upload_progress(plugin, upload)})
    content_type = request.headers.get("content-type", "")
    content_range = request.headers.get("content-range")
    if content_range is not None:
        return await _receive_chunk(plugin, source, request, content_range)
    chunks = body_chunks(request.receive)
    try:
        if content_type.lower().startswith("multipart/form-data"):
            form = MultipartStream(chunks, content_type)
            fields, file_part = await form.fields_until_file()
            token = fields.get("upload_token") or _token_outside_body(request)
            if file_part is None:
                raise ApiError(
                    "No file in the form: send the file in a 'file' field, "
                    "after the upload_token field"
                )
            upload = await uploads.load_upload(plugin, source, request.actor, token)
            upload = await uploads.receive(plugin, source, upload, form.file_data())
            await form.drain()
        else:
            token = _token_outside_body(request)
            upload = await uploads.load_upload(plugin, source, request.actor, token)
            upload = await uploads.receive(plugin, source, upload, chunks)
    except ClientDisconnected:
        raise ApiError("The connection closed before the whole file arrived")
    return Response.json(
        {
            "ok": True,
            "upload_token": upload["token"],
            "size": upload["received_bytes"],
            "content_hash": upload["content_hash"],
        }
    )


async def _receive_chunk(plugin, source, request, content_range):
    upload = await uploads.load_upload(plugin, source, request.actor,
                                       _token_outside_body(request))
    try:
        upload = await chunked_uploads.receive_chunk(plugin, source, upload, content_range,
                                             body_chunks(request.receive))
    except ClientDisconnected:
        raise ApiError("The connection closed before the whole chunk arrived")
    return Response.json({"ok": True, **chunked_uploads.upload_progress(plugin, upload)})


# Types clients send when they know nothing better: the filename tells more.
UNINFORMATIVE_TYPES = {"", "application/octet-stream", "application/x-www-form-urlencoded"}


@json_api
async def put_view(datasette, request):
    """PUT /-/files/upload/{slug}/{filename}: store and register a file in one
    request, as ``curl -T photo.jpg .../-/files/upload/team/`` sends it."""
    require_method(request, "PUT")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    length = request.headers.get("content-length")
    if length is not None and not length.isdigit():
        raise ApiError("Content-Length must be a whole number of bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        row = await uploads.put_file(
            plugin, source, request.actor, unquote(request.url_vars["filename"]),
            None if content_type in UNINFORMATIVE_TYPES else content_type,
            int(length) if length is not None else None, body_chunks(request.receive))
    except ClientDisconnected:
        raise ApiError("The connection closed before the whole file arrived")
    plugin.thumbnails.enqueue(row)
    return Response.json({"ok": True, "file": file_json(datasette, row)}, status=201)


def _token_outside_body(request):
    return request.headers.get(TOKEN_HEADER) or request.args.get("upload_token")


@json_api
async def complete_view(datasette, request):
    require_method(request, "POST")
    plugin, source = await source_for(datasette, request, request.url_vars["slug"], UPLOAD)
    payload = await json_object_body(request)
    upload = await uploads.load_upload(
        plugin, source, request.actor, payload.get("upload_token")
    )
    row = await uploads.complete(plugin, source, upload, payload.get("sha256"))
    plugin.thumbnails.enqueue(row)
    return Response.json({"ok": True, "file": file_json(datasette, row)})
