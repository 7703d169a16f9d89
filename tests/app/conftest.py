import pytest

from support.server import AppServer


@pytest.fixture
def make_app(tmp_path):
    """Start the application over fresh data directories; stopped afterwards."""
    servers = []

    def make(name="data", **kwargs) -> AppServer:
        server = AppServer(tmp_path / name, **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
        assert "Traceback" not in server.log(), server.log()[-5000:]
