"""What the direct-upload tests share: a moto server of their own, a bucket per
test, and the config of an ``s3-compatible`` source on it (browsers may send
to it: moto answers CORS for any origin; the source asks for rules anyway)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .s3 import CREDENTIALS, Bucket, MotoServer
from .venvs import ensure_venv, required

MOTO_REQUIREMENTS = ["moto[server]>=5.1,<6", "boto3"]
# S3's smallest part: the tests' files go in several.
PART_SIZE = 5 * 1024 * 1024
AWS_ENV = {"AWS_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
           "AWS_DEFAULT_REGION": CREDENTIALS["region"]}


def start_moto(directory: Path) -> MotoServer:
    """moto's server (installed in its own virtualenv once), started."""
    bin_dir = required(lambda: ensure_venv("moto", MOTO_REQUIREMENTS))
    return MotoServer(bin_dir, directory / "moto.log").start()


def bucket_for(moto: MotoServer, test_id: str) -> Bucket:
    """A new bucket, named after the test."""
    return moto.bucket("direct-" + hashlib.sha1(test_id.encode()).hexdigest()[:12]).create()


def s3_source(moto: MotoServer, bucket: Bucket, **extra) -> dict:
    config = {"bucket": bucket.name, "endpoint_url": moto.url,
              "region": CREDENTIALS["region"], "part_size": PART_SIZE,
              "cors_origins": ["*"], "manage_cors": True}
    return {"storage": "s3-compatible", "config": config, **extra}
