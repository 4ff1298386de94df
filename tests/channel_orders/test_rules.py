"""Every transition of the channel-order lifecycle, one row per (state, report)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maitred.channel_orders.rules import (
    ChannelOrderStatus,
    Leg,
    Lifecycle,
    Report,
    Source,
    Verdict,
    fire_due,
    judge,
    ready_in,
)
from maitred.channel_orders.types import PartnerError, PartnerErrorCode

S = ChannelOrderStatus
APPLY, IGNORE, REFUSE = Verdict.APPLY, Verdict.IGNORE, Verdict.REFUSE
PRICE, COMMIT, FIRE = Leg.PRICE, Leg.COMMIT, Leg.FIRE

NEW = Lifecycle()
PRICING = Lifecycle(awaiting=frozenset({PRICE}))
PRICED = Lifecycle(S.PRICED)
REPRICING = Lifecycle(S.PRICED, frozenset({PRICE}))
COMMITTING = Lifecycle(S.PRICED, frozenset({COMMIT}), commit_asked=True, lead_time=900)
COMMITTED = Lifecycle(S.COMMITTED, commit_asked=True, lead_time=900)
HELD = Lifecycle(S.COMMITTED, commit_asked=True)  # committed with fireOrderInSeconds null
FIRING = Lifecycle(S.COMMITTED, frozenset({FIRE}), commit_asked=True)
PREPARING = Lifecycle(S.PREPARING, commit_asked=True, lead_time=900)
PREPARED = Lifecycle(S.PREPARED, commit_asked=True)
DONE = Lifecycle(S.DONE, commit_asked=True)
CANCELED = Lifecycle(S.CANCELED)
ERROR = Lifecycle(S.ERROR, commit_asked=True)

MENU_ERROR = (PartnerError(PartnerErrorCode.MENU, "PLU-SUNDAE unavailable"),)


def cb(leg: Leg, status: ChannelOrderStatus) -> Report:
    return Report.callback(leg, status)


def ev(status: ChannelOrderStatus) -> Report:
    return Report.event(status)


# (state, report, verdict, status after, webhook to send)
CASES: dict[str, tuple[Lifecycle, Report, Verdict, ChannelOrderStatus, Leg | None]] = {
    # channel: price and re-price
    "create prices": (NEW, Report.price_request(), APPLY, S.CREATED, PRICE),
    "re-price while priced": (PRICED, Report.price_request(), APPLY, S.PRICED, PRICE),
    "re-price while pricing coalesces": (PRICING, Report.price_request(), APPLY, S.CREATED, PRICE),
    "price while committing": (COMMITTING, Report.price_request(), REFUSE, S.PRICED, None),
    "price once committed": (COMMITTED, Report.price_request(), REFUSE, S.COMMITTED, None),
    "price once errored": (ERROR, Report.price_request(), REFUSE, S.ERROR, None),
    # channel: commit
    "commit priced": (PRICED, Report.commit_request(900), APPLY, S.PRICED, COMMIT),
    "commit held": (PRICED, Report.commit_request(None), APPLY, S.PRICED, COMMIT),
    "commit fire at once": (PRICED, Report.commit_request(0), APPLY, S.PRICED, COMMIT),
    "commit unpriced": (PRICING, Report.commit_request(None), REFUSE, S.CREATED, None),
    "commit while re-pricing": (REPRICING, Report.commit_request(0), REFUSE, S.PRICED, None),
    "commit again while committing": (COMMITTING, Report.commit_request(0), IGNORE, S.PRICED, None),
    "commit again once committed": (COMMITTED, Report.commit_request(0), IGNORE, S.COMMITTED, None),
    "commit once canceled": (CANCELED, Report.commit_request(0), REFUSE, S.CANCELED, None),
    "commit lead time too long": (PRICED, Report.commit_request(100_001), REFUSE, S.PRICED, None),
    "commit lead time negative": (PRICED, Report.commit_request(-1), REFUSE, S.PRICED, None),
    "commit lead time at most": (PRICED, Report.commit_request(100_000), APPLY, S.PRICED, COMMIT),
    # channel: fire
    "fire committed": (COMMITTED, Report.fire_request(), APPLY, S.COMMITTED, FIRE),
    "fire held": (HELD, Report.fire_request(), APPLY, S.COMMITTED, FIRE),
    "fire twice": (FIRING, Report.fire_request(), IGNORE, S.COMMITTED, None),
    "fire once preparing": (PREPARING, Report.fire_request(), IGNORE, S.PREPARING, None),
    "fire once done": (DONE, Report.fire_request(), IGNORE, S.DONE, None),
    "fire uncommitted": (PRICED, Report.fire_request(), REFUSE, S.PRICED, None),
    "fire while committing": (COMMITTING, Report.fire_request(), REFUSE, S.PRICED, None),
    "fire once errored": (ERROR, Report.fire_request(), REFUSE, S.ERROR, None),
    # channel: cancel
    "cancel pricing": (PRICING, Report.cancel_request(), APPLY, S.CANCELED, None),
    "cancel preparing": (PREPARING, Report.cancel_request(), APPLY, S.CANCELED, None),
    "cancel twice": (CANCELED, Report.cancel_request(), IGNORE, S.CANCELED, None),
    "cancel done": (DONE, Report.cancel_request(), IGNORE, S.DONE, None),
    # POS: price callback
    "priced": (PRICING, cb(PRICE, S.PRICED), APPLY, S.PRICED, None),
    "re-priced": (REPRICING, cb(PRICE, S.PRICED), APPLY, S.PRICED, None),
    "price error": (PRICING, cb(PRICE, S.ERROR), APPLY, S.ERROR, None),
    "re-price error": (REPRICING, cb(PRICE, S.ERROR), APPLY, S.ERROR, None),
    "priced twice": (PRICED, cb(PRICE, S.PRICED), IGNORE, S.PRICED, None),
    "priced after the wait ran out": (ERROR, cb(PRICE, S.PRICED), IGNORE, S.ERROR, None),
    "priced once committing": (COMMITTING, cb(PRICE, S.PRICED), IGNORE, S.PRICED, None),
    "price callback says COMMITTED": (PRICING, cb(PRICE, S.COMMITTED), REFUSE, S.CREATED, None),
    # POS: commit callback
    "committed": (COMMITTING, cb(COMMIT, S.COMMITTED), APPLY, S.COMMITTED, None),
    "commit error": (COMMITTING, cb(COMMIT, S.ERROR), APPLY, S.ERROR, None),
    "committed resent": (COMMITTED, cb(COMMIT, S.COMMITTED), IGNORE, S.COMMITTED, None),
    "committed after preparing": (PREPARING, cb(COMMIT, S.COMMITTED), IGNORE, S.PREPARING, None),
    "commit error after committed": (COMMITTED, cb(COMMIT, S.ERROR), IGNORE, S.COMMITTED, None),
    "committed after the wait ran out": (ERROR, cb(COMMIT, S.COMMITTED), IGNORE, S.ERROR, None),
    "committed never asked": (PRICED, cb(COMMIT, S.COMMITTED), REFUSE, S.PRICED, None),
    "commit callback says PRICED": (COMMITTING, cb(COMMIT, S.PRICED), REFUSE, S.PRICED, None),
    # POS: fire callback
    "preparing": (FIRING, cb(FIRE, S.PREPARING), APPLY, S.PREPARING, None),
    "preparing by the POS's lead time": (
        COMMITTED,
        cb(FIRE, S.PREPARING),
        APPLY,
        S.PREPARING,
        None,
    ),
    "preparing overtakes committed": (COMMITTING, cb(FIRE, S.PREPARING), APPLY, S.PREPARING, None),
    "fire error": (FIRING, cb(FIRE, S.ERROR), APPLY, S.ERROR, None),
    "fire error after the lead time": (PREPARING, cb(FIRE, S.ERROR), IGNORE, S.PREPARING, None),
    "preparing resent": (PREPARING, cb(FIRE, S.PREPARING), IGNORE, S.PREPARING, None),
    "preparing never committed": (PRICED, cb(FIRE, S.PREPARING), REFUSE, S.PRICED, None),
    "fire callback says DONE": (FIRING, cb(FIRE, S.DONE), REFUSE, S.COMMITTED, None),
    # POS: order events
    "prepared": (PREPARING, ev(S.PREPARED), APPLY, S.PREPARED, None),
    "done": (PREPARED, ev(S.DONE), APPLY, S.DONE, None),
    "prepared skips preparing": (COMMITTED, ev(S.PREPARED), APPLY, S.PREPARED, None),
    "preparing by event": (HELD, ev(S.PREPARING), APPLY, S.PREPARING, None),
    "committed by event": (COMMITTING, ev(S.COMMITTED), APPLY, S.COMMITTED, None),
    "committed resent by event": (COMMITTED, ev(S.COMMITTED), IGNORE, S.COMMITTED, None),
    "preparing resent by event": (PREPARED, ev(S.PREPARING), IGNORE, S.PREPARED, None),
    "prepared after done": (DONE, ev(S.PREPARED), IGNORE, S.DONE, None),
    "canceled by the POS": (PREPARED, ev(S.CANCELED), APPLY, S.CANCELED, None),
    "canceled while pricing": (PRICING, ev(S.CANCELED), APPLY, S.CANCELED, None),
    "error by event": (PREPARING, ev(S.ERROR), APPLY, S.ERROR, None),
    "canceled after done": (DONE, ev(S.CANCELED), IGNORE, S.DONE, None),
    "done after canceled": (CANCELED, ev(S.DONE), IGNORE, S.CANCELED, None),
    "prepared never committed": (PRICED, ev(S.PREPARED), REFUSE, S.PRICED, None),
    "event says PRICED": (PRICING, ev(S.PRICED), REFUSE, S.CREATED, None),
    "event says CREATED": (COMMITTED, ev(S.CREATED), REFUSE, S.COMMITTED, None),
    # the hub's timers
    "price wait ran out": (PRICING, Report.timeout(PRICE), APPLY, S.ERROR, None),
    "re-price wait ran out": (REPRICING, Report.timeout(PRICE), APPLY, S.ERROR, None),
    "commit wait ran out": (COMMITTING, Report.timeout(COMMIT), APPLY, S.ERROR, None),
    "price wait after priced": (PRICED, Report.timeout(PRICE), IGNORE, S.PRICED, None),
    "commit wait after committed": (COMMITTED, Report.timeout(COMMIT), IGNORE, S.COMMITTED, None),
    "fire has no wait": (FIRING, Report.timeout(FIRE), REFUSE, S.COMMITTED, None),
    "lead time over": (COMMITTED, Report.lead_time_over(), APPLY, S.PREPARING, None),
    "lead time over after fire": (PREPARING, Report.lead_time_over(), IGNORE, S.PREPARING, None),
    "lead time over once canceled": (
        Lifecycle(S.CANCELED, commit_asked=True, lead_time=60),
        Report.lead_time_over(),
        IGNORE,
        S.CANCELED,
        None,
    ),
    "lead time without one": (HELD, Report.lead_time_over(), REFUSE, S.COMMITTED, None),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_transition(case: str) -> None:
    state, report, verdict, status, send = CASES[case]
    ruling = judge(state, report)
    assert (ruling.verdict, ruling.lifecycle.status, ruling.send) == (verdict, status, send)
    assert ruling.previous is state.status
    assert ruling.reason
    if verdict is not APPLY:
        assert ruling.lifecycle == state


def test_every_source_and_status_has_a_row() -> None:
    sources = {report.source for _, report, *_ in CASES.values()}
    assert sources == set(Source)
    statuses = {state.status for state, *_ in CASES.values()}
    assert statuses == set(ChannelOrderStatus)


def test_a_price_request_waits_for_the_price() -> None:
    ruling = judge(PRICED, Report.price_request())
    assert ruling.lifecycle.awaiting == {PRICE}
    assert not ruling.changed


def test_a_commit_keeps_its_lead_time_and_waits_for_the_commit() -> None:
    ruling = judge(PRICED, Report.commit_request(900))
    assert ruling.lifecycle.awaiting == {COMMIT}
    assert (ruling.lifecycle.commit_asked, ruling.lifecycle.lead_time) == (True, 900)


def test_preparing_answers_the_commit_and_fire_waits() -> None:
    state = Lifecycle(S.PRICED, frozenset({COMMIT, FIRE}), commit_asked=True)
    ruling = judge(state, cb(FIRE, S.PREPARING))
    assert ruling.lifecycle.awaiting == frozenset()
    assert ruling.changed


def test_an_error_keeps_the_pos_reasons() -> None:
    ruling = judge(COMMITTING, Report.callback(COMMIT, S.ERROR, MENU_ERROR))
    assert ruling.lifecycle.errors == MENU_ERROR
    assert ruling.lifecycle.awaiting == frozenset()


def test_an_error_without_reasons_gets_an_unknown_one() -> None:
    ruling = judge(PRICING, cb(PRICE, S.ERROR))
    assert [e.code for e in ruling.lifecycle.errors] == [PartnerErrorCode.UNKNOWN]


def test_a_timeout_is_a_timeout_partner_error() -> None:
    ruling = judge(COMMITTING, Report.timeout(COMMIT))
    assert [e.code for e in ruling.lifecycle.errors] == [PartnerErrorCode.TIMEOUT]


def test_a_callback_after_its_timeout_changes_nothing() -> None:
    timed_out = judge(PRICING, Report.timeout(PRICE)).lifecycle
    late = judge(timed_out, cb(PRICE, S.PRICED))
    assert late.verdict is IGNORE
    assert late.lifecycle == timed_out


def test_a_timeout_after_its_callback_changes_nothing() -> None:
    priced = judge(PRICING, cb(PRICE, S.PRICED)).lifecycle
    assert judge(priced, Report.timeout(PRICE)).verdict is IGNORE


def test_a_reprice_keeps_the_order_open_to_a_later_commit() -> None:
    state = judge(PRICED, Report.price_request()).lifecycle
    state = judge(state, cb(PRICE, S.PRICED)).lifecycle
    assert judge(state, Report.commit_request(None)).verdict is APPLY


def test_fire_wins_over_the_lead_time_and_the_timer_is_then_ignored() -> None:
    fired = judge(COMMITTED, Report.fire_request())
    assert fired.send is FIRE
    preparing = judge(fired.lifecycle, cb(FIRE, S.PREPARING)).lifecycle
    assert judge(preparing, Report.lead_time_over()).verdict is IGNORE


def test_fire_due_is_the_lead_time_after_the_commit() -> None:
    at = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)
    assert fire_due(at, 900) == at + timedelta(seconds=900)
    assert fire_due(at, 0) == at
    assert fire_due(at, None) is None


@pytest.mark.parametrize("lead_time", [-1, 100_001, True])
def test_fire_due_refuses_a_lead_time_out_of_range(lead_time: int) -> None:
    with pytest.raises(ValueError, match="lead time"):
        fire_due(datetime(2026, 12, 3, tzinfo=UTC), lead_time)


def test_ready_in_adds_the_lead_time_to_the_preparation() -> None:
    assert ready_in(300, 0) == 300
    assert ready_in(300, 600) == 900
    assert ready_in(300, None) is None
