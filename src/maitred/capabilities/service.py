"""Recording what a partner's answers show about its API, and the report (decisions 4, 15).

Which features a partner has to show is its contract's to say (`maitred.partners.contracts`).
A feature is `missing` once the partner answered a call with 404, 405 or 501 (it has no such
call), `supported` once a call succeeded, `unknown` before either. Only a change of state is
written, so recording on every answer costs a read. A missing feature is not called again
until an operator resets it (`maitred venues capabilities VENUE --reset`, or the admin API).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maitred.capabilities import features
from maitred.capabilities.models import Capability
from maitred.capabilities.schemas import CapabilityRead, CapabilityReport
from maitred.clock import now
from maitred.errors import BadRequest, NotFound, field_details
from maitred.partners import contracts
from maitred.partners.models import Partner
from maitred.venues.models import Venue, VenueLink

SUPPORTED, MISSING = "supported", "missing"

TABLES_LIST = features.TABLES_LIST
ORDERS_CREATE = features.ORDERS_CREATE
ORDERS_UPDATE = features.ORDERS_UPDATE
ORDERS_LIST = features.ORDERS_LIST
ORDERS_GET = features.ORDERS_GET


def record(
    session: Session,
    *,
    venue_id: str,
    partner_id: str,
    feature: str,
    supported: bool,
    reason: str,
) -> bool:
    """Note what a call showed; True when the feature's state changed."""
    state = SUPPORTED if supported else MISSING
    row = _row(session, venue_id, partner_id, feature)
    if row is not None:
        if row.state == state:
            return False
        row.state, row.reason, row.detected_at = state, reason[:500], now()
        return True
    try:
        with session.begin_nested():
            session.add(
                Capability(
                    venue_id=venue_id,
                    partner_id=partner_id,
                    feature=feature,
                    state=state,
                    reason=reason[:500],
                    detected_at=now(),
                )
            )
    except IntegrityError:
        # Another process recorded it first; its evidence is as good as ours.
        return False
    return True


def is_missing(session: Session, *, venue_id: str, partner_id: str, feature: str) -> bool:
    """True when the partner's answers showed it has no such call."""
    row = _row(session, venue_id, partner_id, feature)
    return row is not None and row.state == MISSING


def report(session: Session, venue_id: str) -> CapabilityReport:
    """Every feature of every partner linked to the venue, known or not."""
    if session.get(Venue, venue_id) is None:
        raise NotFound(f"Venue {venue_id} not found")
    links = session.execute(
        select(VenueLink.partner_id, VenueLink.role, Partner.contract)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.venue_id == venue_id)
        .order_by(VenueLink.role)
    ).all()
    known = {
        (row.partner_id, row.feature): row
        for row in session.scalars(select(Capability).where(Capability.venue_id == venue_id))
    }
    items = []
    for partner_id, role, contract_name in links:
        # What the partner's contract has for its role: a feature it lacks is never called.
        contract = contracts.find(contract_name)
        offered = contract.features(role) if contract is not None else {}
        for feature, call in offered.items():
            row = known.get((partner_id, feature))
            items.append(
                CapabilityRead(
                    partner_id=partner_id,
                    role=role,
                    feature=feature,
                    call=call,
                    state="unknown" if row is None else row.state,
                    reason=None if row is None else row.reason,
                    detected_at=None if row is None else row.detected_at,
                )
            )
    missing = sum(1 for item in items if item.state == MISSING)
    return CapabilityReport(venue_id=venue_id, capabilities=items, missing=missing)


def reset(session: Session, *, venue_id: str, feature: str | None = None) -> int:
    """Forget the evidence (one feature, or all) so the next call tries again; the count."""
    known = features.ALL
    if feature is not None and feature not in known:
        message = f"unknown feature {feature!r}; one of {', '.join(sorted(known))}"
        raise BadRequest(message, details=field_details("feature", message))
    if session.get(Venue, venue_id) is None:
        raise NotFound(f"Venue {venue_id} not found")
    statement = delete(Capability).where(Capability.venue_id == venue_id)
    if feature is not None:
        statement = statement.where(Capability.feature == feature)
    result = session.execute(statement.execution_options(synchronize_session="fetch"))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _row(session: Session, venue_id: str, partner_id: str, feature: str) -> Capability | None:
    return session.scalar(
        select(Capability).where(
            Capability.venue_id == venue_id,
            Capability.partner_id == partner_id,
            Capability.feature == feature,
        )
    )
