"""Staged POSTs no upload will take: a presigned POST stores in the source's
staging folder (``keys.STAGING_FOLDER``) until ``complete`` copies it into
place. A token that expired, or a form posted again after complete, leaves
an object there; hidden, it is never synced, but it is stored and billed.

A sweep deletes each staged object whose upload is not alive (its name holds
the file's id) and that is over ``stale_seconds`` old: another server on the
same bucket may have prepared the younger ones.
"""

from __future__ import annotations

import datetime
from typing import Awaitable, Callable, Collection

from ...naming import parse_storage_name
from . import keys
from .errors import translated


async def sweep(client_of: Callable, bucket: str, prefix: str,
                live_upload_keys: Callable[[], Awaitable[Collection[str]]],
                stale_seconds: float) -> int:
    """Delete the staged objects of uploads that are not alive; how many went."""
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        seconds=stale_seconds)
    folder = keys.folder_prefix(prefix, keys.STAGING_FOLDER)
    found = []
    async with client_of() as client:
        paginator = client.get_paginator("list_objects_v2")
        with translated(keys.STAGING_FOLDER):
            async for page in paginator.paginate(Bucket=bucket, Prefix=folder):
                found.extend(item for item in page.get("Contents", [])
                             if item["LastModified"] < cutoff)
    if not found:
        return 0
    live = set(await live_upload_keys())  # asked after the listing: see base.py
    gone = 0
    async with client_of() as client:
        for item in found:
            name = parse_storage_name(item["Key"][len(folder):])
            if name is not None and name.file_id in live:
                continue
            with translated(item["Key"]):
                await client.delete_object(Bucket=bucket, Key=item["Key"])
            gone += 1
    return gone
