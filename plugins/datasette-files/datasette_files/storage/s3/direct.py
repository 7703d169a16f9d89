"""Uploads straight from the client to the bucket (``DirectUploads``): a
presigned POST Object for one request, presigned UploadPart URLs for a
multipart upload. The server signs, checks and joins; it never carries a byte.

A POST's policy pins the key, the Content-Type and the exact size
(``content-length-range`` [size, size]); with a SHA-256 given at prepare (and
``checksums`` on) it pins ``x-amz-checksum-sha256`` too, so the bucket refuses
other bytes. The key is the upload's staging key, never the file's: a POST
lives as long as its token, and a form posted again after complete (or after
the file was deleted) must not reach the file. ``complete`` copies exactly the
object it checked (CopySourceIfMatch) into place with the file's record, then
deletes the staging key; hidden and reserved, it is never synced. Part URLs
pin each part's size (Content-Length is signed). Multipart uploads are
begun without a checksum algorithm: one would make every presigned part carry
a checksum header the browser would have to compute first.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Mapping, Optional, Sequence

from ...base import DirectObject, FileRecord, PartsRefused, PresignedPost, UploadedPart
from . import keys, reads, records
from .config import DEFAULT_PART_SIZE
from .errors import error_code, translated

log = logging.getLogger("datasette_files")

# One PUT or POST stores at most 5 GiB (S3's limit; R2 and Tigris share it).
SINGLE_REQUEST_LIMIT = 5 * 1024 ** 3
# CopyObject copies at most 5 GiB in one request.
MAX_COPY_BYTES = 5 * 1024 ** 3
_GONE_UPLOAD_CODES = frozenset({"NoSuchUpload", "404", "NotFound"})
_REFUSED_PARTS_CODES = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})


class S3DirectUploads:
    """The ``DirectUploads`` capability of ``S3CompatibleStorage`` (a mixin: it
    uses the storage's ``bucket``, ``object_key()``, ``s3()``, ``config`` and
    ``cors_ready``)."""

    @property
    def direct_uploads_ready(self) -> bool:
        # Without CORS rules for this site a browser's POST to the bucket fails.
        return bool(getattr(self, "cors_ready", False))

    @property
    def single_request_limit(self) -> int:
        config = getattr(self, "config", None)
        return SINGLE_REQUEST_LIMIT if config is None or config.presigned_post else 0

    @property
    def part_size(self) -> int:
        config = getattr(self, "config", None)
        return config.part_size if config is not None else DEFAULT_PART_SIZE

    async def presigned_post(self, staged_as: str, content_type: str, size: int,
                             expires_in: int, sha256: Optional[str] = None) -> PresignedPost:
        key = keys.staging_key(self.prefix, staged_as)
        fields = {"Content-Type": content_type}
        if sha256 is not None and self.config.checksums:
            fields["x-amz-checksum-sha256"] = base64.b64encode(bytes.fromhex(sha256)).decode()
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", size, size])
        async with self.s3() as client:
            with translated(staged_as):
                signed = await client.generate_presigned_post(
                    Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions,
                    ExpiresIn=expires_in)
        return PresignedPost(url=signed["url"], fields=dict(signed["fields"]))

    async def staged_object(self, staged_as: str) -> Optional[DirectObject]:
        async with self.s3() as client:
            found = await reads.head(client, self.bucket,
                                     keys.staging_key(self.prefix, staged_as), staged_as)
        return None if found is None else DirectObject(size=found.size, etag=found.etag)

    async def place_staged(self, staged_as: str, staged: DirectObject, path: str,
                           content_type: str, record: FileRecord) -> Optional[DirectObject]:
        from botocore.exceptions import ClientError

        staging = keys.staging_key(self.prefix, staged_as)
        key = self.object_key(path)
        arguments = {"Bucket": self.bucket, "Key": key,
                     "CopySource": {"Bucket": self.bucket, "Key": staging},
                     "CopySourceIfMatch": staged.etag, "MetadataDirective": "REPLACE",
                     "Metadata": records.metadata_for(path, record),
                     "ContentType": content_type or "application/octet-stream"}
        if self.config.checksums:
            # The service computes the whole object's SHA-256 as it copies.
            arguments["ChecksumAlgorithm"] = "SHA256"
        async with self.s3() as client:
            try:
                with translated(path):
                    answer = await client.copy_object(**arguments)
            except ClientError as ex:
                if error_code(ex) in _CHANGED_CODES:
                    return None  # posted again since HEAD: the caller looks again
                raise
            result = answer.get("CopyObjectResult") or {}
            content_hash = reads.full_object_sha256(
                result.get("ChecksumSHA256"), result.get("ChecksumType"), result.get("ETag", ""))
            if content_hash is None:
                found = await reads.head(client, self.bucket, key, path, checksums=True)
                content_hash = found.sha256 if found else None
            with translated(staged_as):
                await client.delete_object(Bucket=self.bucket, Key=staging)
        return DirectObject(size=staged.size, content_hash=content_hash, has_record=True)

    async def discard_staged(self, staged_as: str) -> None:
        async with self.s3() as client:
            with translated(staged_as):
                await client.delete_object(Bucket=self.bucket,
                                           Key=keys.staging_key(self.prefix, staged_as))

    async def start_multipart(self, path: str, content_type: str,
                              record: FileRecord) -> str:
        async with self.s3() as client:
            with translated(path):
                answer = await client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.object_key(path), ContentType=content_type,
                    Metadata=records.metadata_for(path, record))
        return answer["UploadId"]

    async def presigned_part_urls(self, path: str, upload_id: str,
                                  part_sizes: Mapping[int, int],
                                  expires_in: int) -> dict[int, str]:
        key = self.object_key(path)
        urls = {}
        async with self.s3() as client:
            for number, size in part_sizes.items():
                # ContentLength is signed: the URL takes no part of another size.
                urls[number] = await client.generate_presigned_url(
                    "upload_part", ExpiresIn=expires_in,
                    Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                            "PartNumber": number, "ContentLength": size})
        return urls

    async def uploaded_parts(self, path: str, upload_id: str) -> Optional[list[UploadedPart]]:
        from botocore.exceptions import ClientError

        key = self.object_key(path)
        parts: list[UploadedPart] = []
        marker = 0
        async with self.s3() as client:
            while True:
                # The gone codes first: translated() would make a 404 FileMissing.
                with translated(path):
                    try:
                        answer = await client.list_parts(
                            Bucket=self.bucket, Key=key, UploadId=upload_id,
                            PartNumberMarker=marker, MaxParts=1000)
                    except ClientError as ex:
                        if error_code(ex) in _GONE_UPLOAD_CODES:
                            return None
                        raise
                parts.extend(UploadedPart(number=int(part["PartNumber"]),
                                          size=int(part["Size"]), etag=part["ETag"])
                             for part in answer.get("Parts", []))
                if not answer.get("IsTruncated"):
                    break
                marker = int(answer["NextPartNumberMarker"])
        return sorted(parts, key=lambda part: part.number)

    async def complete_multipart(self, path: str, upload_id: str,
                                 parts: Sequence[UploadedPart]) -> None:
        from botocore.exceptions import ClientError

        async with self.s3() as client:
            with translated(path):
                try:
                    await client.complete_multipart_upload(
                        Bucket=self.bucket, Key=self.object_key(path), UploadId=upload_id,
                        MultipartUpload={"Parts": [{"PartNumber": part.number,
                                                    "ETag": part.etag} for part in parts]})
                except ClientError as ex:
                    if error_code(ex) in _REFUSED_PARTS_CODES:
                        raise PartsRefused(f"the storage would not join the parts "
                                           f"({error_code(ex)}): send them again") from None
                    if error_code(ex) in _GONE_UPLOAD_CODES:
                        # Joined by another complete, or aborted: the object says which.
                        return
                    raise

    async def abort_multipart(self, path: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        async with self.s3() as client:
            with translated(path):
                try:
                    await client.abort_multipart_upload(
                        Bucket=self.bucket, Key=self.object_key(path), UploadId=upload_id)
                except ClientError as ex:
                    if error_code(ex) not in _GONE_UPLOAD_CODES:
                        raise

    async def direct_object(self, path: str) -> Optional[DirectObject]:
        async with self.s3() as client:
            found = await reads.head(client, self.bucket, self.object_key(path), path,
                                     checksums=True)
        if found is None:
            return None
        return DirectObject(size=found.size, content_hash=found.sha256,
                            has_record=records.record_from(found.metadata) is not None)

    async def keep_record(self, path: str, record: FileRecord) -> None:
        key = self.object_key(path)
        async with self.s3() as client:
            found = await reads.head(client, self.bucket, key, path)
            if found is None or found.size > MAX_COPY_BYTES:
                # Too big to copy in one request: the file stays, without its record.
                return
            with translated(path):
                await client.copy_object(
                    Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                    MetadataDirective="REPLACE", Metadata=records.metadata_for(path, record),
                    ContentType=found.content_type or record.content_type
                    or "application/octet-stream")
