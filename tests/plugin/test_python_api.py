"""get_file() and File, as another plugin would use them, over real SQLite and files."""

import asyncio
import datetime

from datasette.app import Datasette

from support.config import OPEN_PERMISSIONS
from support import api
from support.server import source_config

CONTENT = b"0123456789" * 300_000  # 3 MB: several chunks


def test_get_file_read_and_open(make_server, tmp_path):
    config = {"permissions": OPEN_PERMISSIONS,
              "plugins": {"datasette-files": {"sources": {"s": source_config(tmp_path / "s")}}}}
    server = make_server(config, data_dir=tmp_path / "data")
    with server.client({"id": "alice"}) as client:
        uploaded = api.upload(client, "s", "numbers.txt", CONTENT, "text/plain")
    server.stop()

    async def use_it():
        from datasette_files import File, get_file

        datasette = Datasette(config=config, internal=str(server.internal_db))
        await datasette.invoke_startup()
        assert await get_file(datasette, "df-01aaaaaaaaaaaaaaaaaaaaaaaa") is None
        file = await get_file(datasette, uploaded["id"])
        assert isinstance(file, File)
        assert (file.id, file.filename, file.content_type, file.size, file.source_slug,
                file.uploaded_by, file.metadata) == (
            uploaded["id"], "numbers.txt", "text/plain", len(CONTENT), "s", "alice", {})
        assert file.created_at.tzinfo == datetime.timezone.utc
        assert await file.read() == CONTENT
        assert await file.read(max_bytes=25) == CONTENT[:25]
        chunks = []
        async with file.open() as stream:
            async for chunk in stream:
                chunks.append(chunk)
        assert len(chunks) > 1 and b"".join(chunks) == CONTENT

    asyncio.run(use_it())
