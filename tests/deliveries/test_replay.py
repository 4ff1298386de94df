"""Exhausted deliveries are kept as failed and can be replayed, one by one or in bulk, with the
same message id; two bulk replays at once queue nothing twice."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import update

from maitred.config import Settings
from maitred.deliveries import service
from maitred.deliveries.models import Delivery
from maitred.errors import InvalidTransition, NotFound
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    PartnerCreds,
    Received,
    add_partner,
    attempts_of,
    delivery,
    dispatching,
    enqueue,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)


class Switch:
    """A receiver that is down until switched on."""

    def __init__(self) -> None:
        self.up = False

    async def __call__(self, _r: Received, _nth: int) -> web.StreamResponse:
        return web.Response(status=200 if self.up else 500)


async def _exhaust(runtime: Runtime, partner: PartnerCreds, count: int) -> list[int]:
    ids = [await enqueue(runtime, partner, {"n": n}) for n in range(count)]
    async with dispatching(runtime):
        await wait_until(lambda: all(state_of(runtime, i) == "failed" for i in ids))
    return ids


async def test_exhausted_delivery_is_kept_as_failed(runtime: Runtime) -> None:
    async with receiving(Switch()) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        (delivery_id,) = await _exhaust(runtime, partner, 1)
    schedule = runtime.settings.retry_schedule
    assert len(attempts_of(runtime, delivery_id)) == len(schedule) + 1
    stored = delivery(runtime, delivery_id)
    assert stored.last_status == 500
    assert stored.lease_owner is None


async def test_replay_one_sends_it_again_with_the_same_message_id(runtime: Runtime) -> None:
    switch = Switch()
    async with receiving(switch) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        (delivery_id,) = await _exhaust(runtime, partner, 1)
        switch.up = True
        await runtime.writer.run(lambda s: service.replay(s, delivery_id))
        assert delivery(runtime, delivery_id).attempts == 0
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    assert len(set(receiver.ids())) == 1
    assert receiver.ids()[-1] == delivery(runtime, delivery_id).message_id


async def test_replay_refuses_what_is_not_failed(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
    try:
        await runtime.writer.run(lambda s: service.replay(s, delivery_id))
    except InvalidTransition:
        pass
    else:
        raise AssertionError("expected InvalidTransition")
    try:
        await runtime.writer.run(lambda s: service.replay(s, 999_999))
    except NotFound:
        return
    raise AssertionError("expected NotFound")


async def test_bulk_replay_queues_every_failed_one(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        ids = [await enqueue(runtime, partner, {"n": n}) for n in range(3)]
        # Exhausting is shown above; here they are marked failed directly to keep this quick.
        await runtime.writer.run(lambda s: s.execute(update(Delivery).values(state="failed")))
        assert await runtime.writer.run(lambda s: service.replay_failed(s, partner_id="x")) == 0
        count = await runtime.writer.run(lambda s: service.replay_failed(s, partner_id=partner.id))
        assert count == 3
        async with dispatching(runtime):
            await wait_until(lambda: all(state_of(runtime, i) == "delivered" for i in ids))
    assert sorted(receiver.ids()) == sorted(delivery(runtime, i).message_id for i in ids)


async def test_two_bulk_replays_at_once_queue_nothing_twice(
    runtime: Runtime, settings: Settings
) -> None:
    async with receiving(Switch()) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        ids = [await enqueue(runtime, partner, {"n": n}) for n in range(50)]
    await runtime.writer.run(lambda s: s.execute(update(Delivery).values(state="failed")))
    # Two runtimes, two writer threads, two transactions racing over the same rows.
    async with runtime_with(settings) as other:
        counts = await asyncio.gather(
            runtime.writer.run(lambda s: service.replay_failed(s)),
            other.writer.run(lambda s: service.replay_failed(s)),
        )
    assert sum(counts) == len(ids)
    assert all(state_of(runtime, i) == "pending" for i in ids)
