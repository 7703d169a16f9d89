"""What format a request's body is in (its Content-Type) and what format its
answer should be in (its Accept), for endpoints that serve forms and scripts."""

from __future__ import annotations

from ..errors import ApiError
from ..multipart import FormField, MultipartStream, body_chunks
from .common import form_body, json_object_body

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def media_type(request) -> str:
    """The body's media type, lowercased, without parameters ('' when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json_type(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def answers_json(request) -> bool:
    """Whether the client wants JSON back: Accept rates JSON at least as high
    as HTML (q-values count), or, when it names neither (a script's
    ``Accept: */*``, or none), the client sent JSON."""
    json_q = html_q = 0.0
    for item in request.headers.get("accept", "").lower().split(","):
        media, _, params = item.strip().partition(";")
        quality = _quality(params)
        if is_json_type(media.strip()):
            json_q = max(json_q, quality)
        elif media.strip() in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, quality)
    if json_q or html_q:
        return json_q >= html_q and json_q > 0
    return is_json_type(media_type(request))


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


async def fields_of_body(request) -> dict:
    """The body's fields, parsed as its Content-Type says: a JSON object, a
    url-encoded form, or a multipart form without files. 415 for other types."""
    media = media_type(request)
    if is_json_type(media):
        return await json_object_body(request)
    if media in ("", FORM):
        return await form_body(request)
    if media == MULTIPART:
        return await _multipart_fields(request)
    raise ApiError(f"Send the fields as application/json, {FORM} or {MULTIPART}, "
                   f"not {media}", status=415)


async def _multipart_fields(request) -> dict[str, str]:
    form = MultipartStream(body_chunks(request.receive), request.headers["content-type"])
    fields = {}
    while (part := await form.next_part()) is not None:
        if not isinstance(part, FormField):
            raise ApiError("This form takes fields only, not files")
        fields[part.name] = part.value
    return fields
