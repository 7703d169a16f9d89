"""What the direct-upload tests share: a bucket per test on the module's moto
server, and an ``s3-compatible`` source on it whose CORS rules our server sets
(browsers may then send to the bucket)."""

from __future__ import annotations

import hashlib

from .s3 import MotoServer, S3Admin, s3_source

# S3's smallest part: the tests' files go in several.
PART_SIZE = 5 * 1024 * 1024


def bucket_for(moto: MotoServer, test_id: str) -> S3Admin:
    """A new bucket, named after the test."""
    name = "direct-" + hashlib.sha1(test_id.encode()).hexdigest()[:12]
    return S3Admin(moto.url, name).create()


def direct_source(moto: MotoServer, bucket: S3Admin, **extra) -> dict:
    """A source on ``bucket`` that takes uploads straight from browsers of any origin;
    ``extra`` goes beside storage and config (direct_uploads, read_only)."""
    source = s3_source(moto.url, bucket.name, part_size=PART_SIZE, cors_origins=["*"],
                       manage_cors=True)
    return {**source, **extra}
