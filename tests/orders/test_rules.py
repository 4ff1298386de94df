"""Check rules: payment mapping and which pos_order event a new POS state produces."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maitred.connectors.mozrest.pos_mapping import payment_type
from maitred.orders.rules import CLOSED, OPEN, VOID, CheckState, Stored, judge

T0 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def check(status: str = OPEN, total: str = "10.00", minutes: int = 0) -> CheckState:
    return CheckState(
        check_number="98766",
        status=status,
        total_amount=Decimal(total),
        payment_method="card",
        updated_at=T0 + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("card", "credit_card"),
        ("Credit Card", "credit_card"),
        ("debit", "credit_card"),
        ("VISA", "credit_card"),
        ("Mastercard", "credit_card"),
        ("cash", "cash"),
        (" Cash ", "cash"),
        ("check", "check"),
        ("cheque", "check"),
        ("online payment", "others"),
        ("voucher", "others"),
        ("", "others"),
        (None, "others"),
    ],
)
def test_payment_method_maps_to_the_rms_enum(method: str | None, expected: str) -> None:
    assert payment_type(method) == expected


def test_a_new_check_is_created() -> None:
    assert judge(None, check()).event == "create"


def test_a_changed_check_is_updated() -> None:
    verdict = judge(Stored(check(), announced=True), check(total="25.00", minutes=1))
    assert (verdict.accept, verdict.event) == (True, "update")


def test_closing_is_an_update_with_close_status() -> None:
    verdict = judge(Stored(check(), announced=True), check(CLOSED, minutes=5))
    assert verdict.event == "update"


def test_voiding_is_a_void_event() -> None:
    assert judge(Stored(check(), announced=True), check(VOID, minutes=5)).event == "void"


def test_an_older_state_changes_nothing() -> None:
    verdict = judge(Stored(check(total="25.00", minutes=5), announced=True), check(minutes=1))
    assert (verdict.accept, verdict.event) == (False, None)


def test_the_same_state_twice_changes_nothing() -> None:
    verdict = judge(Stored(check(), announced=True), check())
    assert (verdict.accept, verdict.event) == (False, None)


@pytest.mark.parametrize("final", [CLOSED, VOID])
def test_a_final_check_never_reopens(final: str) -> None:
    verdict = judge(Stored(check(final), announced=True), check(OPEN, minutes=9))
    assert (verdict.accept, verdict.event) == (False, None)


def test_a_check_voided_before_the_rms_heard_of_it_sends_nothing() -> None:
    assert judge(None, check(VOID)).event is None


STATES = [check(OPEN, "10.00", 0), check(OPEN, "25.00", 1), check(CLOSED, "25.00", 2)]


def _replay(order: tuple[CheckState, ...]) -> CheckState | None:
    stored: Stored | None = None
    for state in order:
        verdict = judge(stored, state)
        if verdict.accept:
            stored = Stored(state, announced=stored is not None or verdict.event is not None)
    return stored.state if stored else None


@given(st.permutations(STATES))
def test_every_arrival_order_ends_in_the_newest_state(order: list[CheckState]) -> None:
    assert _replay(tuple(order)) == STATES[-1]


def test_every_permutation_exhaustively() -> None:
    for order in itertools.permutations(STATES):
        assert _replay(order) == STATES[-1]


def test_the_same_amounts_written_differently_are_no_change() -> None:
    stored = Stored(check(total="12.50"), announced=True)
    verdict = judge(stored, check(total="12.5"))
    assert (verdict.accept, verdict.event) == (False, None)
