"""The one clock every timer reads, so tests can compress days into seconds.

Production uses `SystemClock`. `ScaledClock` runs faster than real time (set with
`MAITRED_CLOCK_SPEED` for whole processes); `ManualClock` only moves when a test says so.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What every timer in maitred needs."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock, starting now."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin_wall = datetime.now(UTC)
        self._origin_mono = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin_mono) * self.speed
        return self._origin_wall + timedelta(seconds=elapsed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.speed)


class ManualClock:
    """A clock that stands still until `advance` is called (unit tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The process clock."""
    return _clock


def set_clock(clock: Clock) -> None:
    """Replace the process clock (process start-up and tests only)."""
    global _clock
    _clock = clock


def now() -> datetime:
    """Shorthand for `get_clock().now()`."""
    return _clock.now()


def has_utc_form(value: datetime) -> datetime:
    """`value` unchanged; ValueError when its offset takes it out of the years 1 to 9999 in UTC
    (year 1 at +01:00 is year 0), which no database driver can bind: for filters read from a
    request, so that such a time is a 400 naming the field."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("Input should lie between years 1 and 9999 in UTC") from None
    return value
