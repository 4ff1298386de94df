"""How maitred reaches one partner for one venue: what an adapter needs to call it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The process's outbound HTTP session (an aiohttp `ClientSession`): the use cases hand it to
# the adapters' read-throughs; the domains only name it in the ports they declare.
Http = Any


@dataclass(frozen=True)
class Reach:
    """One partner at one venue: where it listens, its id for the venue, the token maitred
    presents (decrypted), and what every call's trace carries."""

    partner_id: str
    venue_id: str  # ours, for the traces
    base_url: str
    external_venue_id: str
    token: str | None
    trace_limit: int
    correlation_id: str | None = None
