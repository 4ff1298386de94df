"""The delivery policy as pure functions: what an HTTP outcome means, when to try again, and how
a batch of outcomes moves an endpoint's health. No I/O, no clock: callers pass the time in."""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from maitred.config import Settings
from maitred.deliveries.models import DELIVERED, FAILED, PENDING

# spec (ARCHITECTURE §5): these 4xx mean "not now", not "never".
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
# A server that says it does not implement the call will not in three days (decision 4).
FINAL_5XX = frozenset({501, 505})
# An endpoint failing without one success for this many retry windows is disabled (about six
# days): long enough that one delivery's own retries never do it, and any success restarts it.
DISABLE_AFTER_WINDOWS = 2.0


class Verdict(StrEnum):
    """What one attempt's outcome means for the delivery."""

    DELIVERED = "delivered"
    RETRY = "retry"  # 5xx, 408, 409, 425, connection errors
    SLOW_RETRY = "slow_retry"  # 429 or timeout: back off at least the slow floor
    REJECTED = "rejected"  # other 4xx (and 3xx: we never follow redirects)
    GONE = "gone"  # 410: the endpoint asked us to stop


def classify(status: int | None, *, timed_out: bool = False) -> Verdict:
    """The verdict for an HTTP status, or for no status at all (a transport error)."""
    if status is None:
        return Verdict.SLOW_RETRY if timed_out else Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.GONE
    if status == 429:
        return Verdict.SLOW_RETRY
    if status in FINAL_5XX:
        return Verdict.REJECTED
    if status >= 500 or status in RETRYABLE_4XX:
        return Verdict.RETRY
    return Verdict.REJECTED


def error_class(verdict: Verdict) -> str | None:
    """The error-tree name recorded for an HTTP verdict (transport errors record their own)."""
    if verdict is Verdict.DELIVERED:
        return None
    if verdict in (Verdict.REJECTED, Verdict.GONE):
        return "PartnerRejected"
    return "PartnerUnavailable"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP-date); None if absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """The retry schedule and its modifiers."""

    schedule: tuple[float, ...]
    jitter: float = 0.2
    scale: float = 1.0
    slow_floor: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured for this process."""
        return cls(
            schedule=tuple(settings.retry_schedule),
            jitter=settings.retry_jitter,
            scale=settings.retry_scale,
            slow_floor=settings.slow_retry_floor,
        )

    @property
    def window(self) -> float:
        """Seconds the whole schedule spans (before jitter): a delivery's retry window."""
        return sum(self.schedule) * self.scale

    @property
    def disable_after(self) -> float:
        """Seconds an endpoint may fail without a single success before it is disabled."""
        return self.window * DISABLE_AFTER_WINDOWS

    def delay(
        self, attempt: int, *, slow: bool, retry_after: float | None, rand: float
    ) -> float | None:
        """Seconds before the next try after failed attempt number `attempt` (1-based), or None
        when the schedule is exhausted. `rand` in [0, 1) picks the jitter."""
        if attempt < 1 or attempt > len(self.schedule):
            return None
        jittered = self.schedule[attempt - 1] * (1.0 + self.jitter * (2.0 * rand - 1.0))
        lower = max(self.slow_floor if slow else 0.0, retry_after or 0.0)
        return max(jittered, lower) * self.scale


@dataclass(frozen=True)
class Decision:
    """What to do with a delivery after an attempt."""

    state: str
    delay: float | None = None  # seconds until the next try, when state is pending
    disable_endpoint: bool = False
    health: str = "neutral"  # "success" | "failure" | "neutral" (the endpoint answered, 4xx)


def decide(
    verdict: Verdict,
    *,
    attempt: int,
    policy: RetryPolicy,
    retry_after: float | None,
    rand: float,
) -> Decision:
    """The delivery's next state after attempt number `attempt` ended with `verdict`."""
    if verdict is Verdict.DELIVERED:
        return Decision(DELIVERED, health="success")
    if verdict is Verdict.GONE:
        # Kept pending, as everything queued for the endpoint it disables: once re-enabled it is
        # again the head of its ordering key and goes first (decision record 0007).
        return Decision(PENDING, delay=0.0, disable_endpoint=True, health="failure")
    if verdict is Verdict.REJECTED:
        return Decision(FAILED)
    slow = verdict is Verdict.SLOW_RETRY
    delay = policy.delay(attempt, slow=slow, retry_after=retry_after, rand=rand)
    if delay is None:
        return Decision(FAILED, health="failure")
    return Decision(PENDING, delay=delay, health="failure")


@dataclass(frozen=True)
class HealthChange:
    """How a batch of outcomes (in order) changes an endpoint's consecutive-failure count."""

    reset: bool  # a success happened: the count restarts from `failures`
    failures: int  # failures after the last success (or all of them, when no success)


def fold_health(outcomes: Sequence[str]) -> HealthChange:
    """Fold "success"/"failure"/"neutral" outcomes, oldest first, into one change."""
    reset = False
    failures = 0
    for outcome in outcomes:
        if outcome == "success":
            reset, failures = True, 0
        elif outcome == "failure":
            failures += 1
    return HealthChange(reset=reset, failures=failures)


def apply_health(current: int, change: HealthChange) -> int:
    """The consecutive-failure count after `change`."""
    return change.failures if change.reset else current + change.failures


def breaker_opens(consecutive_failures: int, threshold: int) -> bool:
    """True when the circuit should (stay) open."""
    return threshold > 0 and consecutive_failures >= threshold
