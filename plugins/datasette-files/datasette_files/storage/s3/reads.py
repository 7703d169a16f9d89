"""Reading objects: HEAD for what a file is, ranged GETs for its bytes, and an
opened read pinned to the ETag it opened (``OpenedReads``)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Optional

from ...base import FileMissing
from .errors import error_code, translated

CHUNK_BYTES = 256 * 1024
_CONTENT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")
_MULTIPART_ETAG = re.compile(r'-\d+"?$')


@dataclass
class Head:
    """What HEAD said of an object."""

    key: str
    size: int
    etag: str
    mtime_ns: int
    content_type: Optional[str]
    metadata: dict
    # "sha256:<hex>" when the service kept a full-object SHA-256 (not a
    # multipart upload's checksum of checksums).
    sha256: Optional[str] = None
    # Content headers a copy keeps (CacheControl, ContentDisposition, ...).
    headers: dict = field(default_factory=dict)


async def head(client: Any, bucket: str, key: str, path: str,
               checksums: bool = False) -> Optional[Head]:
    """The object at ``key``; None if there is none."""
    arguments = {"Bucket": bucket, "Key": key}
    if checksums:
        arguments["ChecksumMode"] = "ENABLED"
    try:
        with translated(path):
            answer = await client.head_object(**arguments)
    except FileMissing:
        return None
    return head_from(key, answer)


def head_from(key: str, answer: dict) -> Head:
    return Head(key=key, size=int(answer.get("ContentLength", 0)),
                etag=answer.get("ETag", ""),
                mtime_ns=int(answer["LastModified"].timestamp()) * 10**9
                if answer.get("LastModified") else 0,
                content_type=answer.get("ContentType"),
                metadata=answer.get("Metadata") or {},
                sha256=full_object_sha256(answer.get("ChecksumSHA256"),
                                          answer.get("ChecksumType"), answer.get("ETag", "")),
                headers={name: answer[name] for name in _CONTENT_HEADERS if answer.get(name)})


def full_object_sha256(checksum: Optional[str], checksum_type: Optional[str],
                       etag: str = "") -> Optional[str]:
    """"sha256:<hex>" from S3's base64 ChecksumSHA256 when it covers the whole
    object; None for a multipart upload's (a checksum of its parts' checksums:
    its ETag ends in "-<parts>", its checksum may too, or its type says so)."""
    if not checksum or "-" in checksum or checksum_type == "COMPOSITE" \
            or _MULTIPART_ETAG.search(etag or ""):
        return None
    try:
        digest = base64.b64decode(checksum, validate=True)
    except ValueError:
        return None
    return f"sha256:{digest.hex()}" if len(digest) == 32 else None


async def stream_range(client_of: Callable, bucket: str, key: str, path: str, start: int,
                       end: Optional[int], if_match: Optional[str] = None
                       ) -> AsyncIterator[bytes]:
    """Bytes ``start`` to ``end`` (inclusive; to the end if None) of the object,
    in chunks of at most CHUNK_BYTES; FileMissing before the first one. With
    ``if_match``, only the object with that ETag (else FileMissing: it changed)."""
    from botocore.exceptions import ClientError

    arguments = {"Bucket": bucket, "Key": key}
    if start > 0 or end is not None:
        arguments["Range"] = f"bytes={start}-{'' if end is None else end}"
    if if_match:
        arguments["IfMatch"] = if_match
    async with client_of() as client:
        try:
            with translated(path):
                answer = await client.get_object(**arguments)
        except ClientError as ex:
            code = error_code(ex)
            if code == "InvalidRange":
                return  # start is past the end: nothing to send
            if code in ("PreconditionFailed", "412"):
                raise FileMissing(f"the file at {path!r} changed while it was read") from None
            raise
        body = answer["Body"]
        try:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk
        finally:
            body.close()


class OpenObject:
    """An object as HEAD found it; its bytes are read only while its ETag is
    still that one (``OpenFile``)."""

    def __init__(self, client_of: Callable, bucket: str, path: str, found: Head):
        self._client_of, self._bucket, self._path, self._head = client_of, bucket, path, found
        self.size = found.size
        self.mtime_ns = found.mtime_ns

    def stream_range(self, start: int, end: Optional[int]) -> AsyncIterator[bytes]:
        return stream_range(self._client_of, self._bucket, self._head.key, self._path, start,
                            end, if_match=self._head.etag or None)

    async def close(self) -> None:
        pass  # nothing is held open between HEAD and GET
