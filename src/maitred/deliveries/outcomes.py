"""Hooks a domain registers to learn how its deliveries ended (e.g. the POS's answer to an
order it was asked to create). A hook runs inside the writer job that records the attempt, so
its changes commit with the delivery's new state, and only for the attempt that really won (a
completion under a stale attempt token runs nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Outcome:
    """How one attempt of a delivery ended."""

    delivery_id: int
    kind: str
    status_code: int | None
    response_body: str | None
    state: str  # the delivery's new state: delivered | pending (retrying) | failed


Hook = Callable[[Session, Outcome], None]
_hooks: dict[str, Hook] = {}


def register(kind: str, hook: Hook) -> None:
    """Call `hook` for every settled attempt of deliveries of `kind`."""
    _hooks[kind] = hook


def hook_for(kind: str) -> Hook | None:
    """The hook registered for `kind`, if any."""
    return _hooks.get(kind)
