"""Abandoned multipart uploads: the parts of a write that never completed
(a killed server, a browser that gave up) are invisible, yet stored and
billed until the upload is aborted.

A sweep aborts each multipart upload under the prefix that is not one this
process is writing, whose file is not an upload still alive (its key holds
the file's id), and that began over ``stale_seconds`` ago: another server
process on the same bucket may be writing the younger ones. It also deletes
the health checks' probe objects a stop left behind, once as old.
"""

from __future__ import annotations

import datetime
from typing import Awaitable, Callable, Collection

from ...naming import parse_storage_name
from .errors import translated

STALE_SECONDS = 15 * 60
# A health check's probe object: written and deleted at once (a hidden name).
PROBE_PREFIX = ".datasette-files-probe-"


async def sweep(client_of: Callable, bucket: str, prefix: str, writing: Collection[str],
                live_upload_keys: Callable[[], Awaitable[Collection[str]]],
                stale_seconds: float = STALE_SECONDS) -> int:
    """Abort the abandoned multipart uploads and delete old probe objects; how
    many went. ``writing`` holds the UploadIds this process has in flight."""
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        seconds=stale_seconds)
    aborted = await _sweep_probes(client_of, bucket, prefix, cutoff)
    found = []
    async with client_of() as client:
        paginator = client.get_paginator("list_multipart_uploads")
        with translated(prefix or "/"):
            async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                found.extend(page.get("Uploads", []))
    if not found:
        return aborted
    live = set(await live_upload_keys())  # asked after the listing: see base.py
    async with client_of() as client:
        for upload in found:
            name = parse_storage_name(upload["Key"].rpartition("/")[2])
            initiated = upload.get("Initiated")
            if upload["UploadId"] in writing or (name is not None and name.file_id in live) \
                    or (initiated is not None and initiated > cutoff):
                continue
            with translated(upload["Key"]):
                await client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                                    UploadId=upload["UploadId"])
            aborted += 1
    return aborted


async def _sweep_probes(client_of: Callable, bucket: str, prefix: str,
                        cutoff: datetime.datetime) -> int:
    """Delete the probe objects older than ``cutoff``; how many went."""
    gone = 0
    async with client_of() as client:
        with translated(prefix or "/"):
            answer = await client.list_objects_v2(Bucket=bucket, Prefix=prefix + PROBE_PREFIX)
            for item in answer.get("Contents", []):
                if item["LastModified"] < cutoff:
                    await client.delete_object(Bucket=bucket, Key=item["Key"])
                    gone += 1
    return gone
