"""A real S3-compatible server for tests: moto's server mode in a subprocess on
loopback, and its buckets handled with boto3 from the virtualenv moto is in."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .server import ServerProcess

BUCKET_SCRIPT = Path(__file__).resolve().parent / "s3_bucket.py"
# Moto takes any credentials; a source's config names them as for AWS.
CREDENTIALS = {"access_key_id": "test-key-id", "secret_access_key": "test-secret-key",
               "region": "us-east-1"}


class MotoServer(ServerProcess):
    """``moto_server`` from the virtualenv whose bin directory is ``bin_dir``."""

    def __init__(self, bin_dir: Path, log_path: Path, bind: str = "127.0.0.1"):
        """``bind``: the address to listen on ("0.0.0.0" lets a container reach it
        through the Docker bridge); ``url`` is on loopback either way."""
        super().__init__(log_path, cwd=log_path.parent)
        self.bin_dir = bin_dir
        self.bind = bind

    def command(self) -> list[str]:
        return [str(self.bin_dir / "moto_server"), "-H", self.bind, "-p", str(self.port)]

    def bucket(self, name: str) -> "Bucket":
        return Bucket(self.bin_dir / "python", self.url, name)


class Bucket:
    """One bucket on the server at ``endpoint``, through tests/support/s3_bucket.py."""

    def __init__(self, python: Path, endpoint: str, name: str):
        self.python, self.endpoint, self.name = python, endpoint, name

    def _run(self, *args: str, stdin: bytes = b"") -> bytes:
        result = subprocess.run(
            [str(self.python), str(BUCKET_SCRIPT), self.endpoint, self.name, *args],
            input=stdin, capture_output=True,
            env={**os.environ, "AWS_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
                 "AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
                 "AWS_DEFAULT_REGION": CREDENTIALS["region"]})
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
        return result.stdout

    def create(self) -> "Bucket":
        self._run("create")
        return self

    def put(self, key: str, content: bytes) -> None:
        self._run("put", key, stdin=content)

    def get(self, key: str) -> bytes:
        return self._run("get", key)

    def delete(self, key: str) -> None:
        self._run("delete", key)

    def keys(self) -> list[str]:
        return json.loads(self._run("keys"))


# The built-in s3-compatible storage's tests: moto's server from a virtualenv of
# its own (the datasette-files-s3 one also holds that plugin, whose entry point
# would load into our servers), and the bucket handled with botocore in the
# tests' own process (installed with datasette-files[s3]).
MOTO_VENV = "moto-server"
MOTO_REQUIREMENTS = ["moto[server]==5.2.4"]


def needs_moto():
    """The marker that installs moto's virtualenv in the background from the
    start of the run (tests/conftest.py)."""
    import pytest

    return pytest.mark.needs_venv(MOTO_VENV, MOTO_REQUIREMENTS)


def start_moto(log_dir: Path, bind: str = "127.0.0.1") -> MotoServer:
    """A moto server from the moto-server virtualenv (installed if need be;
    the test is skipped, or fails under REQUIRE_PYPI=1, if it cannot be)."""
    from .venvs import ensure_venv, required

    bin_dir = required(lambda: ensure_venv(MOTO_VENV, MOTO_REQUIREMENTS))
    return MotoServer(bin_dir, log_dir / "moto.log", bind).start()


class S3Admin:
    """A bucket's owner, with botocore in this process: faster than a
    subprocess per call, and it sees what our code set (metadata, CORS,
    multipart uploads)."""

    def __init__(self, endpoint: str, bucket: str):
        import botocore.session

        self.endpoint, self.name = endpoint, bucket
        self.client = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name=CREDENTIALS["region"],
            aws_access_key_id=CREDENTIALS["access_key_id"],
            aws_secret_access_key=CREDENTIALS["secret_access_key"])

    def create(self) -> "S3Admin":
        self.client.create_bucket(Bucket=self.name)
        return self

    def put(self, key: str, content: bytes, **extra) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=content, **extra)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.name, Key=key)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name,
                                                                      Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def multipart_uploads(self, prefix: str = "") -> list[dict]:
        return self.client.list_multipart_uploads(Bucket=self.name, Prefix=prefix).get(
            "Uploads", [])

    def cors_rules(self) -> list[dict]:
        try:
            return self.client.get_bucket_cors(Bucket=self.name)["CORSRules"]
        except self.client.exceptions.ClientError as ex:
            if ex.response["Error"]["Code"] == "NoSuchCORSConfiguration":
                return []
            raise


def s3_source(endpoint: str, bucket: str, prefix: str = "", **config) -> dict:
    """A source of the built-in s3-compatible storage; the credentials come from
    the environment of ``s3_env()`` unless ``config`` names secrets."""
    return {"storage": "s3-compatible", "config": {
        "bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, **config}}


def s3_env() -> dict:
    """The AWS environment a server reads moto's (any) credentials from."""
    return {"AWS_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
            "AWS_REGION": CREDENTIALS["region"]}
