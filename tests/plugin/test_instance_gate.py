"""The view-instance door, in process: its verdict for an actor is kept a few
seconds (one permission query per actor, not per request), and a verdict given
while Datasette skips permission checks is never kept."""

import asyncio

from datasette.app import Datasette

from support.config import OPEN_PERMISSIONS
from support.server import source_config


def closed_instance(tmp_path) -> Datasette:
    config = {"allow": {"id": "alice"}, "permissions": OPEN_PERMISSIONS,
              "plugins": {"datasette-files": {"sources": {"s": source_config(tmp_path / "s")}}}}
    return Datasette(config=config, internal=str(tmp_path / "internal.db"))


def test_a_skipped_check_does_not_open_the_door_to_anonymous_visitors(tmp_path):
    async def run():
        datasette = closed_instance(tmp_path)
        await datasette.invoke_startup()
        # Another plugin's internal request, checks skipped: served.
        inside = await datasette.client.get("/-/files/sources.json",
                                            skip_permission_checks=True)
        assert inside.status_code == 200
        # Then a real anonymous visitor, at once: still refused.
        outside = await datasette.client.get("/-/files/sources.json")
        assert outside.status_code == 403, outside.text
        alice = {"ds_actor": datasette.client.actor_cookie({"id": "alice"})}
        assert (await datasette.client.get("/-/files/sources.json",
                                           cookies=alice)).status_code == 200

    asyncio.run(run())


def test_the_verdict_for_an_actor_is_asked_once_then_kept(tmp_path):
    async def run():
        datasette = closed_instance(tmp_path)
        await datasette.invoke_startup()
        asked = []
        original = datasette.allowed_many

        async def counting(**kwargs):
            asked.append(kwargs.get("actions"))
            return await original(**kwargs)

        datasette.allowed_many = counting
        for _ in range(5):
            assert (await datasette.client.get("/-/files/sources.json")).status_code == 403
        return [actions for actions in asked if "view-instance" in actions]

    assert len(asyncio.run(run())) == 1
