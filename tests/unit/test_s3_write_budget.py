"""The budget of part buffers that uploads streamed to buckets share
(``storage/s3/budget.py``): room given in turn, a bounded wait, and a slow
stream cut off only while another write waits."""

from __future__ import annotations

import asyncio

import pytest

from datasette_files.base import StorageBusy, UploadTooSlow
from datasette_files.storage.s3.budget import WriteBudget, paced


def test_writes_get_room_in_turn_and_a_wait_past_its_bound_is_busy():
    async def scenario():
        budget = WriteBudget(100)
        order = []
        first = budget.held(60)
        await first.__aenter__()

        async def write(name: str, amount: int, wait: float):
            async with budget.held(amount, wait):
                order.append(name)
                await asyncio.sleep(0.05)

        waiting = [asyncio.ensure_future(write("b", 60, 5)),
                   asyncio.ensure_future(write("c", 10, 5))]
        await asyncio.sleep(0.05)
        # c would fit, but b came first: no write overtakes one that waits.
        assert order == [] and budget.contended
        with pytest.raises(StorageBusy) as busy:
            await write("d", 50, 0.05)
        assert busy.value.retry_after > 0
        await first.__aexit__(None, None, None)
        await asyncio.gather(*waiting)
        assert order == ["b", "c"]
        assert (budget.used, budget.contended) == (0, False)
        # More than the whole budget still runs, alone.
        async with budget.held(1000):
            assert budget.used == 100

    asyncio.run(scenario())


def test_a_write_that_gives_up_waiting_leaves_its_turn_to_the_next():
    async def scenario():
        budget = WriteBudget(100)
        async with budget.held(100):
            held = [budget.held(100, 5), budget.held(50, 5)]  # kept: dropped, each gives back
            gave_up = asyncio.ensure_future(held[0].__aenter__())
            patient = asyncio.ensure_future(held[1].__aenter__())
            await asyncio.sleep(0.01)
            gave_up.cancel()
            await asyncio.sleep(0.01)
        await asyncio.wait_for(patient, 1)
        assert budget.used == 50

    asyncio.run(scenario())


async def _trickle(chunks: int, every: float):
    for _ in range(chunks):
        await asyncio.sleep(every)
        yield b"x"


def test_a_slow_stream_is_cut_off_only_while_another_write_waits():
    async def read_all(budget: WriteBudget) -> int:
        return len([chunk async for chunk in paced(_trickle(6, 0.05), budget,
                                                   grace_seconds=0.1,
                                                   min_bytes_per_second=1000)])

    async def scenario():
        alone = WriteBudget(100)
        assert await read_all(alone) == 6  # behind the pace, but nobody waits
        crowded = WriteBudget(100)
        async with crowded.held(100):
            wanted = crowded.held(100, 5)
            waiting = asyncio.ensure_future(wanted.__aenter__())
            with pytest.raises(UploadTooSlow):
                await read_all(crowded)
        await waiting

    asyncio.run(scenario())
