"""What an upload must satisfy before any byte is stored."""

from __future__ import annotations

from typing import Optional

from ..errors import ApiError, InsufficientStorage, PayloadTooLarge
from ..naming import content_type_for, display_filename, is_valid_content_type
from ..sizes import human_sizes
from ..sources import Source


# Types clients send when they know nothing better: the filename tells more.
UNINFORMATIVE_TYPES = {"", "application/octet-stream", "application/x-www-form-urlencoded"}


def informative_type(declared: Optional[str]) -> Optional[str]:
    """A declared Content-Type without its parameters, lowercase; None when it
    tells nothing the file's name does not."""
    content_type = (declared or "").split(";")[0].strip().lower()
    return None if content_type in UNINFORMATIVE_TYPES else content_type


def require_uploads(source: Source) -> None:
    """Forbidden for a read-only source, ApiError for one that takes no uploads."""
    source.require_writable()
    if not source.capabilities.can_upload:
        raise ApiError(f"Source {source.slug!r} does not accept uploads")


async def validate_upload(source: Source, payload: dict) -> tuple[str, str, Optional[int]]:
    """(name as shown, content type, declared size) of an intended upload, or ApiError."""
    require_uploads(source)
    filename = payload.get("filename")
    if not isinstance(filename, str) or not filename.strip():
        raise ApiError("'filename' is required and must be a non-empty string")
    shown_name = display_filename(filename)
    if not shown_name:
        raise ApiError(f"'filename' {filename!r} has no usable name in it")
    declared_type = payload.get("content_type")
    if declared_type is not None and not isinstance(declared_type, str):
        raise ApiError("'content_type' must be a string such as 'image/jpeg'")
    content_type = content_type_for(shown_name, declared_type)
    if not is_valid_content_type(content_type):
        raise ApiError(f"'content_type' {declared_type!r} is not a valid MIME type")
    size = payload.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ApiError("'size' must be a whole number of bytes, 0 or more")
    if size is not None:
        await check_size_fits(source, size)
    return shown_name, content_type, size


async def check_size_fits(source: Source, size: int) -> None:
    """PayloadTooLarge over the source's limit; InsufficientStorage over its free space."""
    check_size_allowed(source, size)
    free = await source.free_space()
    if free is not None and size > free:
        shown, free_shown = human_sizes(size, free)
        raise InsufficientStorage(
            f"The file is {shown} but source {source.slug!r} has only {free_shown} free: "
            "free some space there, or choose another source", size=size, free_bytes=free)


def check_size_allowed(source: Source, size: int) -> None:
    """PayloadTooLarge over the source's limit."""
    if size > source.max_file_size:
        raise too_large_for(source, size)


def too_large_for(source: Source, size: int) -> PayloadTooLarge:
    """The error for a file of ``size`` over the source's limit, in units for
    people; the exact numbers beside the message for clients."""
    shown, limit = human_sizes(size, source.max_file_size)
    return PayloadTooLarge(
        f"The file is {shown}; source {source.slug!r} accepts files of at most {limit}",
        size=size, max_file_size=source.max_file_size)


def upload_limit(source: Source, declared: Optional[int]) -> tuple[int, str]:
    """The most bytes an upload may send, and where that limit comes from."""
    if declared is not None and declared <= source.max_file_size:
        return declared, "the size declared in prepare"
    return source.max_file_size, f"the max_file_size of source {source.slug!r}"
