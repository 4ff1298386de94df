"""The store flow's jobs on a real database (SQLite and PostgreSQL): one heartbeat per store and
period, expiring when the next is due; the answer's `isOnline`; silence; `STORE_UPDATED` to the
venue's channels on every change and only then; pricing refused for an offline store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.channel_orders.models import StoreStatus
from maitred.channel_orders.stores import Watch
from maitred.checkout import stores
from maitred.deliveries.models import DELIVERED, FAILED, Delivery
from maitred.deliveries.outcomes import Outcome
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from tests.factories import make_partner, make_venue

CTX = stores.Context(public_url="https://hub", watch=Watch(period=60, misses=2))


def _seed(runtime: Runtime) -> None:
    def job(session: Session) -> None:
        for id, kind in (("till", "pos"), ("web", "channel")):
            partner = make_partner(
                session, runtime.secrets, id=id, kind=kind, api_key=f"{id}-key-0123456789abcdef",
                webhook_url=f"https://{id}.example/hooks",
            )  # fmt: skip
            partner.contract = "rbi"
        make_venue(session, id="burger", links={"till": "pos-17", "web": "4242"})
        session.flush()

    runtime.writer.run_sync(job)


def _deliveries(runtime: Runtime, kind: str) -> list[Delivery]:
    with runtime.db.read_sessions() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id))
        )


def _status(runtime: Runtime) -> StoreStatus:
    with runtime.db.read_sessions() as session:
        row = session.get(StoreStatus, ("burger", "till"))
        assert row is not None
        session.expunge(row)
        return row


async def test_one_heartbeat_per_store_and_period_expiring_when_the_next_is_due(
    runtime: Runtime,
) -> None:
    _seed(runtime)
    assert await runtime.writer.run(stores.heartbeats(CTX)) == 1
    assert await runtime.writer.run(stores.heartbeats(CTX)) == 0  # not due again yet
    [beat] = _deliveries(runtime, "rbi.heartbeat")
    assert beat.url == "https://till.example/hooks/store-heartbeat"
    assert beat.partner_id == "till"
    assert beat.venue_id == "burger"
    assert beat.expires_at is not None
    assert timedelta(seconds=59) < beat.expires_at - beat.created_at <= timedelta(seconds=60)
    row = _status(runtime)
    assert row.online
    assert row.last_heartbeat_online is None  # watched, never answered yet
    assert _deliveries(runtime, "rbi.store_updated") == []


async def _answer(runtime: Runtime, body: str | None, state: str = DELIVERED) -> None:
    [beat, *_] = sorted(_deliveries(runtime, "rbi.heartbeat"), key=lambda d: -d.id)
    outcome = Outcome(beat.id, beat.kind, 200 if body else None, body, state)
    await runtime.writer.run(lambda s: stores.on_heartbeat(s, outcome))


def _store_updates(runtime: Runtime) -> list[dict[str, Any]]:
    import json

    return [json.loads(d.body) for d in _deliveries(runtime, "rbi.store_updated")]


async def test_the_answer_sets_the_store_and_every_change_tells_the_channel(
    runtime: Runtime,
) -> None:
    _seed(runtime)
    stores.configure(runtime.settings)
    await runtime.writer.run(stores.heartbeats(CTX))
    await _answer(runtime, '{"isOnline": true}')
    assert _status(runtime).last_heartbeat_online is True
    assert _store_updates(runtime) == []  # no change, no notice

    await _answer(runtime, '{"isOnline": false}')
    row = _status(runtime)
    assert not row.online
    assert row.reason == "the POS answered the heartbeat: offline"
    [update] = _store_updates(runtime)
    assert update["eventType"] == "STORE_UPDATED"
    assert update["storeId"] == "4242"
    assert update["isOnline"] is False

    def refusal(session: Session) -> Any:
        return stores.refusal(session, "burger", "till", CTX.watch)

    error = await runtime.writer.run(refusal)
    assert error is not None
    assert error.code.value == "store"

    await _answer(runtime, "not json")  # unreadable: counts as no answer
    await _answer(runtime, None, FAILED)
    assert not _status(runtime).online
    await _answer(runtime, '{"isOnline": true}')
    assert _status(runtime).online
    assert [u["isOnline"] for u in _store_updates(runtime)] == [False, True]


async def test_a_silent_store_goes_offline_once(runtime: Runtime) -> None:
    _seed(runtime)
    await runtime.writer.run(stores.heartbeats(CTX))

    def age(session: Session) -> None:
        row = session.get(StoreStatus, ("burger", "till"))
        assert row is not None
        assert row.last_heartbeat_at is not None
        row.last_heartbeat_at -= timedelta(seconds=121)

    await runtime.writer.run(age)
    await runtime.writer.run(stores.heartbeats(CTX))
    await runtime.writer.run(stores.heartbeats(CTX))
    row = _status(runtime)
    assert not row.online
    assert row.reason == "no heartbeat answered for 120 seconds"
    assert [u["isOnline"] for u in _store_updates(runtime)] == [False]


async def test_a_report_for_an_unknown_store_or_from_a_channel_is_refused(
    runtime: Runtime,
) -> None:
    import pytest

    from maitred.errors import Forbidden, NotFound

    _seed(runtime)
    with pytest.raises(NotFound):
        await runtime.writer.run(stores.report("till", "pos-99", False, None, CTX))
    with pytest.raises(Forbidden):
        await runtime.writer.run(stores.report("web", "4242", False, None, CTX))
    with runtime.db.read_sessions() as session:
        assert session.scalars(select(StoreStatus)).all() == []
        assert session.get(Partner, "till") is not None


async def test_an_answer_for_a_store_unlinked_since_changes_nothing(runtime: Runtime) -> None:
    from maitred.venues.models import VenueLink

    _seed(runtime)
    await runtime.writer.run(stores.heartbeats(CTX))

    def unlink(session: Session) -> None:
        session.query(VenueLink).filter_by(venue_id="burger", partner_id="till").delete()
        session.query(StoreStatus).delete()

    await runtime.writer.run(unlink)
    await _answer(runtime, '{"isOnline": false}')
    with runtime.db.read_sessions() as session:
        assert session.scalars(select(StoreStatus)).all() == []
    assert _store_updates(runtime) == []
