"""Store availability (docs/decisions/0032): when a store's orders are refused at pricing, and how
the RBI contract reads a heartbeat's answer and writes `STORE_UPDATED`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maitred.channel_orders.models import StoreStatus
from maitred.channel_orders.stores import Watch, refusal, silent
from maitred.channel_orders.types import PartnerErrorCode
from maitred.connectors.rbi.events_wire import StoreUpdated
from maitred.connectors.rbi.pos_wire import Heartbeat
from maitred.connectors.rbi.presence import RbiStores

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
WATCH = Watch(period=900, misses=2)


def _row(**fields: object) -> StoreStatus:
    values: dict[str, object] = {"venue_id": "v", "pos_partner_id": "p", "online": True}
    return StoreStatus(**(values | fields))


def test_a_store_never_heard_of_takes_orders() -> None:
    assert refusal(None, T0, WATCH) is None


def test_an_offline_store_is_refused_with_a_store_error_naming_the_reason() -> None:
    error = refusal(_row(online=False, reason="terminal update", reported_at=T0), T0, WATCH)
    assert error is not None
    assert error.code is PartnerErrorCode.STORE
    assert error.message == "the store is offline: terminal update"


@pytest.mark.parametrize(
    ("quiet_for", "refused"),
    [(timedelta(minutes=29), False), (timedelta(minutes=30), False), (timedelta(minutes=31), True)],
)
def test_a_store_silent_for_two_periods_is_refused(quiet_for: timedelta, refused: bool) -> None:
    row = _row(last_heartbeat_at=T0 - quiet_for)
    assert silent(row, T0, WATCH) is refused
    error = refusal(row, T0, WATCH)
    assert (error is not None) is refused
    if error is not None:
        assert error.code is PartnerErrorCode.STORE
        assert "30 minutes" in error.message


def test_a_report_counts_as_word_from_the_pos() -> None:
    row = _row(last_heartbeat_at=T0 - timedelta(hours=2), reported_at=T0 - timedelta(minutes=5))
    assert not silent(row, T0, WATCH)


def test_the_heartbeat_webhook_and_its_answer() -> None:
    hook = RbiStores().heartbeat(store_id="pos-store-17", at=T0)
    assert hook.path == "/store-heartbeat"
    assert Heartbeat.model_validate_json(hook.body).storeId == "pos-store-17"
    read = RbiStores().heartbeat_online
    assert read('{"isOnline": true, "callbackUrl": "https://x"}') is True
    assert read('{"isOnline": false}') is False
    for unreadable in (None, "", "not json", "[]", '{"isOnline": "yes"}', '{"online": true}'):
        assert read(unreadable) is None, unreadable


def test_store_updated_is_the_contracts_event() -> None:
    body = RbiStores().store_updated(
        store_id="4242", online=False, at=T0, callback_url="https://hub/v1/channel/stores/4242"
    )
    event = StoreUpdated.model_validate_json(body)
    assert event.eventType == "STORE_UPDATED"
    assert event.storeId == "4242"
    assert event.isOnline is False
    assert event.eventTime == T0
