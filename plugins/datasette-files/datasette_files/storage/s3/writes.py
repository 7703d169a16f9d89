"""Storing a stream as an object, never holding the whole file: a small file
is one PUT; a larger one a multipart upload of ``part_size`` parts, one part
being sent while the next is received (so memory holds at most HELD_PARTS
parts: the one received, the one sent, and the moment the received one's
chunks are joined). A part is sent from a file object over its bytes (no
copy), which the HTTP library reads in small pieces: given the bytes, it
would copy what the socket does not take at once into its own buffer.
The SHA-256 and size are computed on the way; each request carries its own
SHA-256 for the service to check. A multipart upload that fails is aborted,
so nothing half-written remains (not even invisible parts that cost money).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
from typing import Any, AsyncIterator, Callable, Optional

from .errors import translated

log = logging.getLogger("datasette_files")
# The parts one write holds at most (see above): what budget.py reserves.
HELD_PARTS = 3


async def put_stream(client_of: Callable, bucket: str, key: str, path: str,
                     stream: AsyncIterator[bytes], content_type: str,
                     metadata: dict[str, str], part_size: int,
                     writing: set[str], checksums: bool = True) -> tuple[int, str]:
    """Store ``stream`` at ``key``; ``(size, "sha256:<hex>")``. The UploadId of
    a multipart upload is in ``writing`` while it is in flight (sweeps leave
    it alone)."""
    whole = hashlib.sha256()
    # The chunks of the part being received: joined once, when it is full (a
    # growing bytearray would hold up to twice the part while it grows).
    pending: list[bytes] = []
    pending_size = size = 0
    upload: Optional[_Multipart] = None
    try:
        async for chunk in stream:
            if not chunk:
                continue
            whole.update(chunk)
            size += len(chunk)
            while chunk:
                room = part_size - pending_size
                pending.append(chunk[:room])
                pending_size += min(room, len(chunk))
                chunk = chunk[room:]
                if pending_size == part_size:
                    if upload is None:
                        upload = await _Multipart.start(client_of, bucket, key, path,
                                                        content_type, metadata, checksums)
                        writing.add(upload.upload_id)
                    # The previous part is sent first: then at most one part is
                    # being received while another is sent.
                    await upload.sent()
                    part = b"".join(pending)
                    pending, pending_size = [], 0
                    await upload.send(part)
                    del part
        if upload is not None:
            await upload.sent()
        body = b"".join(pending)
        pending = []
        if upload is None:
            async with client_of() as client:
                with translated(path):
                    await client.put_object(
                        Bucket=bucket, Key=key, Body=io.BytesIO(body), ContentType=content_type,
                        Metadata=metadata, **checksum_of(body, checksums))
        else:
            if body:
                await upload.send(body)
            del body
            await upload.complete()
    except BaseException:
        if upload is not None:
            await asyncio.shield(upload.abort())
        raise
    finally:
        if upload is not None:
            writing.discard(upload.upload_id)
    return size, f"sha256:{whole.hexdigest()}"


class _Multipart:
    """One multipart upload in progress: at most one part in flight."""

    def __init__(self, client_of: Callable, bucket: str, key: str, path: str, upload_id: str,
                 checksums: bool):
        self.client_of, self.bucket, self.key, self.path = client_of, bucket, key, path
        self.upload_id, self.checksums = upload_id, checksums
        self.parts: list[dict] = []
        self._sending: Optional[asyncio.Task] = None

    @classmethod
    async def start(cls, client_of: Callable, bucket: str, key: str, path: str,
                    content_type: str, metadata: dict[str, str],
                    checksums: bool) -> "_Multipart":
        async with client_of() as client:
            with translated(path):
                answer = await client.create_multipart_upload(
                    Bucket=bucket, Key=key, ContentType=content_type, Metadata=metadata,
                    **({"ChecksumAlgorithm": "SHA256"} if checksums else {}))
        return cls(client_of, bucket, key, path, answer["UploadId"], checksums)

    async def sent(self) -> None:
        """Once the part being sent is in (its error, if it failed)."""
        await self._wait()

    async def send(self, part: bytes) -> None:
        """Start sending ``part`` once the previous one is sent."""
        await self._wait()
        number = len(self.parts) + 1
        self.parts.append({"PartNumber": number})
        self._sending = asyncio.ensure_future(self._upload(number, part))

    async def _upload(self, number: int, part: bytes) -> None:
        checksum = checksum_of(part, self.checksums)
        async with self.client_of() as client:
            with translated(self.path):
                answer = await client.upload_part(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                    PartNumber=number, Body=io.BytesIO(part), **checksum)
        checksum.pop("ChecksumAlgorithm", None)
        self.parts[number - 1].update(ETag=answer["ETag"], **checksum)

    async def _wait(self) -> None:
        if self._sending is not None:
            sending, self._sending = self._sending, None
            await sending

    async def complete(self) -> None:
        await self._wait()
        async with self.client_of() as client:
            with translated(self.path):
                await client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts})

    async def abort(self) -> None:
        """Drop the parts sent; never raises (the upload's own error matters more)."""
        if self._sending is not None:
            self._sending.cancel()
            try:
                await self._sending
            except BaseException:
                pass
        try:
            async with self.client_of() as client:
                await client.abort_multipart_upload(Bucket=self.bucket, Key=self.key,
                                                    UploadId=self.upload_id)
        except Exception as ex:
            log.warning("datasette-files: could not abort the multipart upload of %s (%s); "
                        "the next sweep will", self.key, type(ex).__name__)


def checksum_of(data: Any, checksums: bool = True) -> dict[str, str]:
    """The request arguments that have the service check ``data``'s SHA-256
    (and keep it); none when checksums are off."""
    if not checksums:
        return {}
    digest = hashlib.sha256(data).digest()
    return {"ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(digest).decode("ascii")}
