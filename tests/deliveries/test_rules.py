"""The pure delivery policy: verdicts, the retry schedule with jitter, Retry-After, and how a
batch of outcomes moves an endpoint's failure count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maitred.deliveries import rules
from maitred.deliveries.rules import Verdict

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
POLICY = rules.RetryPolicy(schedule=(5.0, 30.0, 120.0), jitter=0.2, scale=1.0, slow_floor=60.0)

schedules = st.lists(st.floats(0.01, 1e5), min_size=1, max_size=15).map(tuple)
policies = st.builds(
    rules.RetryPolicy,
    schedule=schedules,
    jitter=st.floats(0, 0.99),
    scale=st.floats(0.001, 10),
    slow_floor=st.floats(0, 1e4),
)
rands = st.floats(0, 1, exclude_max=True)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (410, Verdict.GONE),
        (429, Verdict.SLOW_RETRY),
        (408, Verdict.RETRY),
        (409, Verdict.RETRY),
        (425, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (400, Verdict.REJECTED),
        (401, Verdict.REJECTED),
        (404, Verdict.REJECTED),
        (422, Verdict.REJECTED),
        (301, Verdict.REJECTED),
    ],
)
def test_status_verdicts(status: int, verdict: Verdict) -> None:
    assert rules.classify(status) is verdict


def test_a_timeout_is_a_slow_retry_and_a_refused_connection_a_plain_one() -> None:
    assert rules.classify(None, timed_out=True) is Verdict.SLOW_RETRY
    assert rules.classify(None) is Verdict.RETRY


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert rules.parse_retry_after("120", NOW) == 120.0
    date = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert rules.parse_retry_after(date, NOW) == 90.0
    past = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert rules.parse_retry_after(past, NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3x"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert rules.parse_retry_after(value, NOW) is None


@given(policy=policies, attempt=st.integers(1, 15), rand=rands)
def test_delay_stays_within_the_jittered_scaled_schedule(
    policy: rules.RetryPolicy, attempt: int, rand: float
) -> None:
    delay = policy.delay(attempt, slow=False, retry_after=None, rand=rand)
    if attempt > len(policy.schedule):
        assert delay is None
        return
    assert delay is not None
    step = policy.schedule[attempt - 1] * policy.scale
    assert step * (1 - policy.jitter) * 0.999 <= delay <= step * (1 + policy.jitter) * 1.001


@given(
    policy=policies,
    attempt=st.integers(1, 15),
    rand=rands,
    retry_after=st.floats(0, 1e6),
    slow=st.booleans(),
)
def test_retry_after_and_the_slow_floor_are_scaled_lower_bounds(
    policy: rules.RetryPolicy, attempt: int, rand: float, retry_after: float, slow: bool
) -> None:
    delay = policy.delay(attempt, slow=slow, retry_after=retry_after, rand=rand)
    if attempt > len(policy.schedule):
        assert delay is None  # exhausted even when the partner asked for a later retry
        return
    assert delay is not None
    assert delay >= retry_after * policy.scale * 0.999
    if slow:
        assert delay >= policy.slow_floor * policy.scale * 0.999


def test_jitter_spreads_both_ways() -> None:
    low = POLICY.delay(1, slow=False, retry_after=None, rand=0.0)
    mid = POLICY.delay(1, slow=False, retry_after=None, rand=0.5)
    high = POLICY.delay(1, slow=False, retry_after=None, rand=0.999999)
    assert low == pytest.approx(4.0)
    assert mid == pytest.approx(5.0)
    assert high == pytest.approx(6.0, rel=1e-4)


def test_429_waits_the_floor_even_early_in_the_schedule() -> None:
    decision = rules.decide(
        Verdict.SLOW_RETRY, attempt=1, policy=POLICY, retry_after=None, rand=0.5
    )
    assert decision.state == "pending"
    assert decision.delay == 60.0


@given(attempt=st.integers(1, 20), rand=rands)
def test_retries_end_in_failed_after_the_schedule(attempt: int, rand: float) -> None:
    decision = rules.decide(
        Verdict.RETRY, attempt=attempt, policy=POLICY, retry_after=None, rand=rand
    )
    if attempt <= len(POLICY.schedule):
        assert decision.state == "pending"
        assert decision.delay is not None
    else:
        assert decision.state == "failed"
        assert decision.delay is None
    assert decision.health == "failure"


def test_410_disables_and_keeps_the_delivery_pending() -> None:
    decision = rules.decide(Verdict.GONE, attempt=1, policy=POLICY, retry_after=None, rand=0.5)
    assert (decision.state, decision.delay) == ("pending", 0.0)
    assert (decision.disable_endpoint, decision.health) == (True, "failure")


def test_a_rejection_fails_without_touching_endpoint_health() -> None:
    decision = rules.decide(Verdict.REJECTED, attempt=1, policy=POLICY, retry_after=None, rand=0)
    assert (decision.state, decision.delay, decision.health) == ("failed", None, "neutral")


@given(
    start=st.integers(0, 100),
    outcomes=st.lists(st.sampled_from(["success", "failure", "neutral"]), max_size=50),
)
def test_folding_a_batch_equals_applying_it_one_by_one(start: int, outcomes: list[str]) -> None:
    sequential = start
    for outcome in outcomes:
        if outcome == "success":
            sequential = 0
        elif outcome == "failure":
            sequential += 1
    assert rules.apply_health(start, rules.fold_health(outcomes)) == sequential


def test_breaker_opens_at_the_threshold_and_never_when_disabled() -> None:
    assert not rules.breaker_opens(4, 5)
    assert rules.breaker_opens(5, 5)
    assert not rules.breaker_opens(100, 0)
