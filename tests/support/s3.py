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

    def __init__(self, bin_dir: Path, log_path: Path):
        super().__init__(log_path, cwd=log_path.parent)
        self.bin_dir = bin_dir

    def command(self) -> list[str]:
        return [str(self.bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]

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

    def multipart_uploads(self) -> list[list[str]]:
        """``[key, upload id]`` of each multipart upload in progress."""
        return json.loads(self._run("uploads"))

    def cors_rules(self) -> list[dict]:
        return json.loads(self._run("cors"))
