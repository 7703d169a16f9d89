"""The background thumbnail queue, when a queued file changes before its turn."""

import asyncio
import logging

from datasette.app import Datasette

from support.config import OPEN_PERMISSIONS
from support import api
from support.images import image_bytes
from support.server import source_config

from datasette_files.state import state


def test_a_file_trashed_or_moved_while_queued_logs_no_error(make_server, tmp_path, caplog):
    """The queue holds the file as it was when queued: trashed since, it is
    skipped; moved since, its thumbnail is made from where it is now."""
    config = {"permissions": OPEN_PERMISSIONS,
              "plugins": {"datasette-files": {"sync_on_start": False,
                                              "sources": {"s": source_config(tmp_path / "s")}}}}
    server = make_server(config, data_dir=tmp_path / "data")
    with server.client({"id": "alice"}) as client:
        trashed = api.upload(client, "s", "trashed.png", image_bytes(20, 20), "image/png")
        moved = api.upload(client, "s", "moved.png", image_bytes(20, 20), "image/png")
    server.stop()

    async def scenario():
        datasette = Datasette(config=config, internal=str(server.internal_db))
        await datasette.invoke_startup()
        plugin = state(datasette)
        queued = [await plugin.registry.files.get(trashed["id"]),
                  await plugin.registry.files.get(moved["id"])]
        await plugin.organiser.trash_file(queued[0], "alice")
        response = await datasette.client.post(
            f"/-/files/{moved['id']}/-/rename", json={"filename": "renamed.png"})
        assert response.status_code == 200, response.text
        with caplog.at_level(logging.INFO, logger="datasette_files"):
            for file in queued:
                await plugin.thumbnails.make_queued(file)
        return await plugin.thumbnails.get(await plugin.registry.files.get(moved["id"]))

    thumbnail = asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert thumbnail is not None
