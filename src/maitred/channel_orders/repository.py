"""Reading and writing channel orders: the row locked for a transition, its lifecycle, the trace
rows, the venue and partners behind a store id, and the orders due for a timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.channel_orders.models import ChannelOrder, ChannelOrderEvent
from maitred.channel_orders.rules import ChannelOrderStatus, Leg, Lifecycle, Report, Ruling
from maitred.channel_orders.types import PartnerError, PartnerErrorCode
from maitred.partners.models import Partner
from maitred.venues.models import Venue, VenueLink

# Legs with a bounded wait (a price or commit callback the channel is waiting for).
WAITED = (Leg.PRICE, Leg.COMMIT)


@dataclass(frozen=True)
class Store:
    """The venue behind a partner's store id, and its currency."""

    venue_id: str
    currency: str | None


@dataclass(frozen=True)
class PartnerLink:
    """A partner serving a venue: its id, its own id for the venue, its contract and URL."""

    partner_id: str
    external_id: str
    contract: str
    webhook_url: str | None


def store_of(session: Session, partner_id: str, external_id: str) -> Store | None:
    """The venue `partner_id` calls `external_id`, if it is linked to one."""
    row = session.execute(
        select(Venue.id, Venue.currency)
        .join(VenueLink, VenueLink.venue_id == Venue.id)
        .where(VenueLink.partner_id == partner_id, VenueLink.external_id == external_id)
    ).first()
    return None if row is None else Store(row.id, row.currency)


def link_of(session: Session, venue_id: str, role: str) -> PartnerLink | None:
    """The partner serving `venue_id` in `role`, if any."""
    row = session.execute(
        select(VenueLink.partner_id, VenueLink.external_id, Partner.contract, Partner.webhook_url)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.venue_id == venue_id, VenueLink.role == role)
    ).first()
    if row is None:
        return None
    return PartnerLink(row.partner_id, row.external_id, row.contract, row.webhook_url)


def partner_link(session: Session, venue_id: str, partner_id: str) -> PartnerLink | None:
    """`partner_id`'s link to `venue_id`, if any."""
    row = session.execute(
        select(VenueLink.partner_id, VenueLink.external_id, Partner.contract, Partner.webhook_url)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.venue_id == venue_id, VenueLink.partner_id == partner_id)
    ).first()
    if row is None:
        return None
    return PartnerLink(row.partner_id, row.external_id, row.contract, row.webhook_url)


def lock(session: Session, order_id: str) -> ChannelOrder | None:
    """The order, locked for this transaction (`FOR UPDATE` on PostgreSQL; SQLite's one
    writer already serialises)."""
    return session.execute(
        select(ChannelOrder).where(ChannelOrder.id == order_id).with_for_update()
    ).scalar_one_or_none()


def by_reference(session: Session, channel_partner_id: str, reference: str) -> ChannelOrder | None:
    """The channel's newest order carrying its `externalReferenceId` `reference`, locked."""
    return session.execute(
        select(ChannelOrder)
        .where(
            ChannelOrder.channel_partner_id == channel_partner_id,
            ChannelOrder.external_reference_id == reference,
        )
        .order_by(ChannelOrder.created_at.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def get(session: Session, order_id: str) -> ChannelOrder | None:
    """The order, unlocked (reads)."""
    return session.get(ChannelOrder, order_id)


def lifecycle(order: ChannelOrder) -> Lifecycle:
    """The order's state as the rules see it."""
    return Lifecycle(
        status=ChannelOrderStatus(order.status),
        awaiting=frozenset(Leg(leg) for leg in order.awaiting.split(",") if leg),
        commit_asked=order.commit_asked,
        lead_time=order.lead_time,
        errors=errors_of(order.errors),
    )


def set_lifecycle(order: ChannelOrder, state: Lifecycle) -> None:
    """Store `state` on the order."""
    order.status = state.status.value
    order.awaiting = ",".join(sorted(leg.value for leg in state.awaiting))
    order.commit_asked = state.commit_asked
    order.lead_time = state.lead_time
    order.errors = errors_json(state.errors) or None


def errors_json(errors: tuple[PartnerError, ...]) -> list[dict[str, str]]:
    """Partner errors as stored JSON."""
    return [{"code": error.code.value, "message": error.message} for error in errors]


def errors_of(stored: Any) -> tuple[PartnerError, ...]:
    """Stored partner errors."""
    return tuple(
        PartnerError(PartnerErrorCode(entry["code"]), str(entry["message"]))
        for entry in stored or ()
    )


def add_event(
    session: Session,
    order_id: str,
    report: Report,
    ruling: Ruling,
    *,
    at: datetime,
    correlation_id: str | None = None,
    errors: tuple[PartnerError, ...] = (),
) -> None:
    """The trace row of one judged report."""
    seq = session.scalar(
        select(func.coalesce(func.max(ChannelOrderEvent.seq), 0)).where(
            ChannelOrderEvent.order_id == order_id
        )
    )
    session.add(
        ChannelOrderEvent(
            order_id=order_id,
            seq=int(seq or 0) + 1,
            source=report.source.value,
            leg=None if report.leg is None else report.leg.value,
            reported_status=None if report.status is None else report.status.value,
            verdict=ruling.verdict.value,
            status_before=ruling.previous.value,
            status_after=ruling.lifecycle.status.value,
            reason=ruling.reason,
            errors=errors_json(errors or report.errors) or None,
            correlation_id=correlation_id,
            at=at,
        )
    )


def events(session: Session, order_id: str) -> list[ChannelOrderEvent]:
    """The order's trace, oldest first."""
    return list(
        session.scalars(
            select(ChannelOrderEvent)
            .where(ChannelOrderEvent.order_id == order_id)
            .order_by(ChannelOrderEvent.seq)
        )
    )


def due_fires(session: Session, at: datetime, limit: int) -> list[str]:
    """Committed orders whose lead time is over, oldest due first, locked and skipped by
    other workers (PostgreSQL)."""
    return list(
        session.scalars(
            select(ChannelOrder.id)
            .where(ChannelOrder.status == "committed", ChannelOrder.fire_due_at <= at)
            .order_by(ChannelOrder.fire_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def overdue_waits(session: Session, before: datetime, limit: int) -> list[ChannelOrder]:
    """Orders still waiting for a price or commit callback whose wait ended before `before`."""
    return list(
        session.scalars(
            select(ChannelOrder)
            .where(ChannelOrder.awaiting != "", ChannelOrder.wait_deadline_at <= before)
            .order_by(ChannelOrder.wait_deadline_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def next_fire_due(session: Session) -> datetime | None:
    """When the next committed order's lead time is over."""
    return session.scalar(
        select(func.min(ChannelOrder.fire_due_at)).where(ChannelOrder.status == "committed")
    )
