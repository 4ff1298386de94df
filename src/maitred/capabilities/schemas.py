"""The capability report as our API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from maitred.camel import CamelModel

State = Literal["supported", "missing", "unknown"]
Feature = Literal["tables.list", "orders.create", "orders.update", "orders.list", "orders.get"]


class CapabilityRead(CamelModel):
    """One feature of one partner's API at a venue."""

    partner_id: str
    role: str
    feature: str
    call: str  # the partner call the feature stands for
    state: State  # "unknown" until a call gave evidence either way
    reason: str | None = None
    detected_at: datetime | None = None


class CapabilityReport(CamelModel):
    """Every feature maitred uses of the venue's partners, and what their answers showed."""

    venue_id: str
    capabilities: list[CapabilityRead]
    missing: int


class CapabilityReset(CamelModel):
    """What a reset did: evidence forgotten, and held order changes sent again."""

    venue_id: str
    reset: int
    forwarded: int
