"""Rate limits on the partner-facing API: a token bucket per partner, and one per client address
for failed authentications (a wrong key from an address over it gets 429; a right key never
does, so one bad client cannot lock out the partners sharing its address). In memory, per
process, O(1) per request."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from maitred.config import Settings
from maitred.errors import RateLimited

MAX_KEYS = 10_000  # client addresses remembered; idle (full) buckets are dropped beyond this


class TokenBuckets:
    """One token bucket per key: `rate` tokens a second, at most `burst` saved up."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()  # callers: the event loop, or a sync route in the pool
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        """False when the rate is 0 (the limit is off)."""
        return self.rate > 0

    def _tokens(self, key: str, at: float) -> float:
        tokens, then = self._buckets.get(key, (self.burst, at))
        return min(self.burst, tokens + (at - then) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again; 0 when it has one now (nothing is taken)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token for `key`: 0 when one was there, else the seconds until there is one."""
        if not self.enabled:
            return 0.0
        with self._lock:
            at = self._clock()
            tokens = self._tokens(key, at)
            if tokens < 1:
                self._buckets[key] = (tokens, at)
                return (1 - tokens) / self.rate
            if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
                self._prune(at)
            self._buckets[key] = (tokens - 1, at)
            return 0.0

    def _prune(self, at: float) -> None:
        """Forget full buckets (a forgotten key starts full anyway), then the oldest half."""
        for key in [k for k in self._buckets if self._tokens(k, at) >= self.burst]:
            del self._buckets[key]
        if len(self._buckets) >= MAX_KEYS:
            for key in list(self._buckets)[: MAX_KEYS // 2]:
                del self._buckets[key]


def _limited(seconds: float, message: str) -> RateLimited:
    return RateLimited(message, retry_after=max(1, math.ceil(seconds)))


class RateLimits:
    """The process's limits: requests per partner, failed authentications per address."""

    def __init__(self, partners: TokenBuckets, failures: TokenBuckets) -> None:
        self.partners = partners
        self.failures = failures

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """Limits as configured (`MAITRED_RATE_LIMIT*`, `MAITRED_AUTH_FAILURE_*`)."""
        return cls(
            TokenBuckets(settings.rate_limit, settings.rate_limit_burst),
            TokenBuckets(settings.auth_failure_limit, settings.auth_failure_burst),
        )

    def check_address(self, address: str) -> None:
        """429 while `address` has used up its failed authentications."""
        wait = self.failures.wait(address)
        if wait > 0:
            raise _limited(wait, "Too many failed authentications; retry later")

    def failed(self, address: str) -> None:
        """Count one failed authentication from `address`."""
        self.failures.take(address)

    def admit(self, partner_id: str) -> None:
        """Count one request of the partner; 429 with Retry-After over its limit."""
        wait = self.partners.take(partner_id)
        if wait > 0:
            raise _limited(wait, "Rate limit exceeded; retry later")
