import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.server import DatasetteServer, source_config  # noqa: E402

ALICE = {"id": "alice"}
BOB = {"id": "bob"}
ADMIN = {"id": "admin", "roles": ["admin"]}

OPEN_PERMISSIONS = {
    "files-browse": True,
    "files-upload": True,
    "files-edit": True,
    "files-delete": True,
}


@pytest.fixture
def make_server(tmp_path):
    """Start servers with their own data directory; all are stopped afterwards."""
    servers = []

    def make(config: dict, data_dir: Path = None, **kwargs) -> DatasetteServer:
        server = DatasetteServer(data_dir or tmp_path / f"server{len(servers)}", config, **kwargs)
        server.data_dir.mkdir(parents=True, exist_ok=True)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """A server where everyone may do everything, with two sources."""
    data = tmp_path_factory.mktemp("open")
    server = DatasetteServer(
        data,
        {
            "permissions": OPEN_PERMISSIONS,
            "plugins": {
                "datasette-files": {
                    "sources": {
                        "one": source_config(data / "one"),
                        "two": source_config(data / "two", max_file_size=1000),
                    }
                }
            },
        },
    )
    server.start()
    yield server
    server.stop()
