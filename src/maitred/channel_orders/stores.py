"""Whether a store takes channel orders (contracts §2.9; docs/decisions/0032): what its POS last
said, by a store-status report or a heartbeat answer, and whether it has gone quiet.

`store_status.online` is the store's availability as maitred last published it (to channels by
`STORE_UPDATED`); `last_heartbeat_at` is when a heartbeat was last answered, or, before the first
answer, when maitred started watching the store (`last_heartbeat_online` is then NULL). A store
is refused at pricing when it is offline, or when neither a heartbeat answer nor a report came
for `misses` heartbeat periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.channel_orders.models import StoreStatus
from maitred.channel_orders.types import PartnerError, PartnerErrorCode
from maitred.partners.models import Partner
from maitred.venues.models import VenueLink


@dataclass(frozen=True)
class Watch:
    """How often a store's POS is asked, and how many unanswered periods make it offline."""

    period: float  # seconds between two heartbeats
    misses: int

    @property
    def silence(self) -> timedelta:
        """How long a store may stay silent before it counts as offline."""
        return timedelta(seconds=self.period * self.misses)


# The contract's schedule: a heartbeat every 15 minutes, offline after two without an answer.
DEFAULT_WATCH = Watch(900.0, 2)


@dataclass(frozen=True)
class WatchedStore:
    """A venue's POS that takes channel orders: its id for the store, contract and URL."""

    venue_id: str
    pos_partner_id: str
    store_id: str
    contract: str
    webhook_url: str


def last_word(row: StoreStatus) -> datetime | None:
    """When the POS last said something about the store (or maitred started watching it)."""
    moments = [m for m in (row.reported_at, row.last_heartbeat_at) if m is not None]
    return max(moments) if moments else None


def silent(row: StoreStatus, at: datetime, watch: Watch) -> bool:
    """Whether the POS said nothing about the store for `watch.misses` periods before `at`."""
    word = last_word(row)
    return word is not None and at - word > watch.silence


def refusal(row: StoreStatus | None, at: datetime, watch: Watch) -> PartnerError | None:
    """The STORE partner error an order for this store gets at pricing, if any. A store never
    heard of takes orders (its first heartbeat starts the watch)."""
    if row is None:
        return None
    if not row.online:
        why = f": {row.reason}" if row.reason else ""
        return PartnerError(PartnerErrorCode.STORE, f"the store is offline{why}")
    if silent(row, at, watch):
        minutes = round(watch.silence.total_seconds() / 60, 1)
        return PartnerError(
            PartnerErrorCode.STORE,
            f"the store's POS answered no heartbeat for {minutes:g} minutes",
        )
    return None


def get(session: Session, venue_id: str, pos_partner_id: str) -> StoreStatus | None:
    """The store's status row, if any."""
    return session.get(StoreStatus, (venue_id, pos_partner_id))


def lock(session: Session, venue_id: str, pos_partner_id: str) -> StoreStatus | None:
    """The store's status row, locked for this transaction."""
    return session.execute(
        select(StoreStatus)
        .where(StoreStatus.venue_id == venue_id, StoreStatus.pos_partner_id == pos_partner_id)
        .with_for_update()
    ).scalar_one_or_none()


def watched(session: Session, contracts: frozenset[str]) -> list[WatchedStore]:
    """Every venue's POS speaking one of `contracts` (those that take channel orders) with a
    webhook URL, in a stable order."""
    rows = session.execute(
        select(VenueLink.venue_id, VenueLink.partner_id, VenueLink.external_id)
        .add_columns(Partner.contract, Partner.webhook_url)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.role == "pos", Partner.contract.in_(sorted(contracts)))
        .order_by(VenueLink.venue_id, VenueLink.partner_id)
    ).all()
    return [
        WatchedStore(r.venue_id, r.partner_id, r.external_id, r.contract, r.webhook_url)
        for r in rows
        if r.webhook_url
    ]


def all_rows(session: Session) -> list[StoreStatus]:
    """Every store status row."""
    return list(session.scalars(select(StoreStatus)))
