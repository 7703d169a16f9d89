"""Pytest fixtures for tests of the built-in s3-compatible storage, shared by
every module that needs a bucket: import the ones a module uses
(``from support.s3_fixtures import moto, s3_bucket  # noqa: F401``) and mark
the module ``pytestmark = support.s3.needs_moto()`` so moto's virtualenv is
installed in the background from the start of the run.

- ``moto``: one moto server (module scope).
- ``s3_bucket``: a new, empty bucket of it for each test (an ``S3Admin``).
- ``s3_server``: a started Datasette server whose source ``team`` is that
  bucket (prefix ``team/``), with the AWS credentials in its environment;
  alice may do everything. Call ``s3_server(**config)`` for other source
  settings (``cors_origins``, ``read_only`` ...).
"""

from __future__ import annotations

import itertools

import pytest

from .config import ALICE
from .s3 import S3Admin, s3_env, s3_source, start_moto
from .server import DatasetteServer, assert_no_server_errors

FILES_ACTIONS = ("files-browse", "files-upload", "files-edit", "files-delete",
                 "files-manage-sources")
_bucket_numbers = itertools.count()


def s3_server_config(sources: dict, actor: dict = ALICE) -> dict:
    """A Datasette config with these sources, where ``actor`` may do everything."""
    return {"permissions": {action: {"id": actor["id"]} for action in FILES_ACTIONS},
            "plugins": {"datasette-files": {"sources": sources}}}


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto):
    return S3Admin(moto.url, f"bucket-{next(_bucket_numbers)}").create()


@pytest.fixture
def s3_server(moto, s3_bucket, tmp_path):
    servers = []

    def start(prefix: str = "team/", read_only: bool = False, **config) -> DatasetteServer:
        source = s3_source(moto.url, s3_bucket.name, prefix, **config)
        if read_only:
            source["read_only"] = True
        server = DatasetteServer(tmp_path / f"s3-server{len(servers)}",
                                 s3_server_config({"team": source}), env=s3_env())
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
        assert_no_server_errors(server)
