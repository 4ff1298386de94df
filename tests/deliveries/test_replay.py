"""Exhausted deliveries are kept as failed and can be replayed, one by one or in bulk, with the
same message id; two bulk replays at once queue nothing twice. A replay goes to the partner's
current URL and credentials, and its attempts are numbered after the earlier ones."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import update

from maitred.apply import service as apply_service
from maitred.apply.schemas import ApplyDocument
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
        assert delivery(runtime, delivery_id).state == "pending"
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


async def _apply_partner(runtime: Runtime, partner: PartnerCreds, **fields: str) -> None:
    """Change the partner as `maitred apply` would (fields omitted from the file are cleared)."""
    document = ApplyDocument.model_validate(
        {"partners": [{"id": partner.id, "kind": "rms", **fields}]}
    )
    await runtime.writer.run(lambda s: apply_service.apply_document(s, document, runtime.secrets))


async def test_a_replay_goes_to_the_current_url_and_token_numbering_on(
    runtime: Runtime,
) -> None:
    async with receiving(Switch()) as old, receiving() as new:
        partner = await add_partner(runtime, webhook_url=old.url)
        (delivery_id,) = await _exhaust(runtime, partner, 1)
        sent_before = len(old.received)
        await _apply_partner(runtime, partner, webhook_url=new.url, token="new-token-0123456789")

        await runtime.writer.run(lambda s: service.replay(s, delivery_id))
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")

    assert len(old.received) == sent_before  # nothing more went to the old URL
    [arrived] = new.received
    assert arrived.webhook_id == delivery(runtime, delivery_id).message_id
    assert arrived.headers["Authorization"] == "Bearer new-token-0123456789"
    numbers = [a.number for a in attempts_of(runtime, delivery_id)]
    assert numbers == list(range(1, sent_before + 2))  # the replay's attempt is the next one
    assert delivery(runtime, delivery_id).url == new.url


async def test_a_replay_gets_the_whole_retry_schedule_again_and_counts_on(
    runtime: Runtime,
) -> None:
    async with receiving(Switch()) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        (delivery_id,) = await _exhaust(runtime, partner, 1)
        await runtime.writer.run(lambda s: service.replay(s, delivery_id))
        async with dispatching(runtime):
            await wait_until(lambda: len(attempts_of(runtime, delivery_id)) > 5)
            await wait_until(lambda: state_of(runtime, delivery_id) == "failed")

    per_round = len(runtime.settings.retry_schedule) + 1
    numbers = [a.number for a in attempts_of(runtime, delivery_id)]
    assert numbers == list(range(1, 2 * per_round + 1))
    assert delivery(runtime, delivery_id).attempts == 2 * per_round


async def test_a_pending_retry_follows_the_partner_to_its_new_url(settings: Settings) -> None:
    # Retries 0.5 s apart and more: the URL changes while the delivery waits for its next one.
    async with (
        runtime_with(settings, retry_scale=0.5) as runtime,
        receiving(Switch()) as old,
        receiving() as new,
    ):
        partner = await add_partner(runtime, webhook_url=old.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: len(old.received) >= 1)
            await _apply_partner(runtime, partner, webhook_url=new.url)
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        assert new.ids() == [delivery(runtime, delivery_id).message_id]
        assert delivery(runtime, delivery_id).url == new.url
