"""Queries of the orders domain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.sql import dialect_sql, execute, execute_many, timestamp
from maitred.orders.models import Check, CheckClaim, PosOrder
from maitred.orders.rules import OrderStatus
from maitred.partners.models import Partner
from maitred.reservations import rules as booking
from maitred.reservations.models import Reservation
from maitred.venues.models import Venue, VenueLink


@dataclass(frozen=True)
class Side:
    """One partner's side of a venue: who it is, its id for the venue, where it listens."""

    partner_id: str
    external_venue_id: str
    base_url: str | None
    webhook_url: str | None
    token_encrypted: str | None  # what maitred presents when it calls the partner
    contract: str  # the API it speaks


# The statements are built once, with bound parameters: on a POS update, building a select
# cost ~70 µs of the ~200 µs its lookup took (P2 profile), more than running it.
_SIDE = (
    select(
        VenueLink.partner_id,
        VenueLink.external_id,
        Partner.base_url,
        Partner.webhook_url,
        Partner.token_encrypted,
        Partner.contract,
    )
    .join(Partner, Partner.id == VenueLink.partner_id)
    .where(VenueLink.venue_id == bindparam("venue_id"), VenueLink.role == bindparam("role"))
)
_TIMEZONE = select(Venue.timezone).where(Venue.id == bindparam("venue_id"))
_SEATING_STATUSES = select(Venue.seating_statuses).where(Venue.id == bindparam("venue_id"))
_REJECTS_UNKNOWN_SKUS = select(Venue.reject_unknown_skus).where(Venue.id == bindparam("venue_id"))
_FIND_ORDER = select(PosOrder).where(
    PosOrder.venue_id == bindparam("venue_id"),
    or_(PosOrder.id == bindparam("ref"), PosOrder.pos_order_id == bindparam("ref")),
)
_OPEN_ORDERS = (
    select(PosOrder.id, PosOrder.pos_order_id)
    .where(
        PosOrder.venue_id == bindparam("venue_id"),
        PosOrder.status == OrderStatus.OPEN,
        PosOrder.pos_order_id.is_not(None),
    )
    .order_by(PosOrder.updated_at)
)
_CHECKS_OF = select(Check).where(Check.order_id == bindparam("order_id")).order_by(Check.id)
_CHECK_BY_NUMBER = select(Check).where(
    Check.venue_id == bindparam("venue_id"), Check.check_number == bindparam("number")
)
_CHECKS_BY_NUMBER = select(Check).where(
    Check.venue_id == bindparam("venue_id"),
    Check.check_number.in_(bindparam("numbers", expanding=True)),
)
_CLAIMANTS = select(CheckClaim.check_number, CheckClaim.reservation_id).where(
    CheckClaim.venue_id == bindparam("venue_id"),
    CheckClaim.check_number.in_(bindparam("numbers", expanding=True)),
)
# The latest claimer wins; ON CONFLICT makes a claim recorded at the same moment by another
# process a change of claimer rather than an error, without a savepoint per number.
_CLAIM_UPSERT = dialect_sql(
    "INSERT INTO check_claims (venue_id, check_number, reservation_id, created_at)"
    " VALUES (:venue_id, :number, :reservation_id, :at)"
    " ON CONFLICT (venue_id, check_number) DO UPDATE SET reservation_id = :reservation_id"
)
_BOOKING_ID = select(Reservation.booking_id).where(Reservation.id == bindparam("reservation_id"))
_PAYLOAD = select(Reservation.payload).where(Reservation.id == bindparam("reservation_id"))


def side(session: Session, *, venue_id: str, role: str) -> Side | None:
    """The venue's partner in `role` ("rms" or "pos"), if linked."""
    row = session.execute(_SIDE, {"venue_id": venue_id, "role": role}).first()
    return Side(*row) if row else None


@dataclass(frozen=True)
class RmsRoute:
    """Where a venue's `pos_order` events go: the RMS, its venue id, its webhook and the
    delivery endpoint registered for it (None until one is, or when its URL changed)."""

    partner_id: str
    external_venue_id: str
    webhook_url: str | None
    endpoint_id: int | None
    contract: str  # the API the RMS speaks


# Every POS update that changes a check asks this; one plain statement instead of the side's
# ORM query plus the endpoint lookup (ARCHITECTURE §3, the same treatment as the inbox).
_RMS_ROUTE = dialect_sql(
    "SELECT l.partner_id, l.external_id, p.webhook_url, e.id, e.url, p.contract"
    " FROM venue_links l"
    " JOIN partners p ON p.id = l.partner_id"
    " LEFT JOIN endpoints e ON e.partner_id = l.partner_id AND e.name = 'webhook'"
    " WHERE l.venue_id = :venue_id AND l.role = 'rms'"
)


def rms_route(connection: Connection, venue_id: str) -> RmsRoute | None:
    """The venue's RMS route, if the venue has an RMS."""
    cursor = execute(connection, _RMS_ROUTE, {"venue_id": venue_id})
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None
    partner_id, external_id, webhook_url, endpoint_id, endpoint_url, contract = row
    current = endpoint_id is not None and endpoint_url == webhook_url
    endpoint = int(endpoint_id) if current else None
    return RmsRoute(partner_id, external_id, webhook_url, endpoint, contract)


def venue_timezone(session: Session, venue_id: str) -> str:
    """The venue's IANA zone."""
    return session.scalar(_TIMEZONE, {"venue_id": venue_id}) or "UTC"


def seating_statuses(session: Session, venue_id: str) -> frozenset[str]:
    """decision 6: the venue's reservation statuses that open a POS order."""
    statuses = session.scalar(_SEATING_STATUSES, {"venue_id": venue_id})
    return frozenset(s.strip().lower() for s in (statuses or ["seated"]))


def rejects_unknown_skus(session: Session, venue_id: str) -> bool:
    """decision 9: whether the venue wants a refused pre-order to fail the order."""
    return bool(session.scalar(_REJECTS_UNKNOWN_SKUS, {"venue_id": venue_id}))


def find_order(session: Session, *, venue_id: str, ref: str) -> PosOrder | None:
    """An order of the venue by maitred's id or the POS's id (decision 2)."""
    return session.scalar(_FIND_ORDER, {"venue_id": venue_id, "ref": ref})


def open_pos_orders(session: Session, venue_id: str) -> list[tuple[str, str]]:
    """(maitred id, POS id) of the venue's open orders the POS has an id for, oldest first."""
    rows = session.execute(_OPEN_ORDERS, {"venue_id": venue_id})
    return [(order_id, str(pos_id)) for order_id, pos_id in rows]


def checks_of(session: Session, order_id: str) -> list[Check]:
    """The order's checks, oldest first."""
    return list(session.scalars(_CHECKS_OF, {"order_id": order_id}))


def check_by_number(session: Session, *, venue_id: str, number: str) -> Check | None:
    """A check of the venue by its POS number.

    Without autoflush: callers flush each check they store, and the order's pending changes
    cannot change which check has a number (an autoflush here cost a sixth of a POS update)."""
    with session.no_autoflush:
        return session.scalar(_CHECK_BY_NUMBER, {"venue_id": venue_id, "number": number})


def checks_by_number(session: Session, *, venue_id: str, numbers: list[str]) -> dict[str, Check]:
    """The venue's checks with these POS numbers, by number: one query for a whole order."""
    if not numbers:
        return {}
    with session.no_autoflush:
        found = session.scalars(_CHECKS_BY_NUMBER, {"venue_id": venue_id, "numbers": numbers})
        return {check.check_number: check for check in found}


def claim_checks(
    session: Session, *, venue_id: str, numbers: list[str], reservation_id: int
) -> None:
    """Record that a booking claims these check numbers; the latest claimer wins."""
    if not numbers:
        return
    connection = session.connection()
    at = timestamp(connection, now())
    rows = [
        {"venue_id": venue_id, "number": n, "reservation_id": reservation_id, "at": at}
        for n in dict.fromkeys(numbers)
    ]
    execute_many(connection, _CLAIM_UPSERT, rows)


def claimants_of(session: Session, *, venue_id: str, numbers: list[str]) -> dict[str, int]:
    """The reservation that claimed each of these check numbers, for those claimed."""
    if not numbers:
        return {}
    rows = session.execute(_CLAIMANTS, {"venue_id": venue_id, "numbers": numbers})
    return {number: reservation_id for number, reservation_id in rows}


def booking_id_of(session: Session, reservation_id: int | None) -> str | None:
    """The RMS's booking id of a reservation row."""
    if reservation_id is None:
        return None
    return session.scalar(_BOOKING_ID, {"reservation_id": reservation_id})


def prepayment_of(session: Session, reservation_id: int | None) -> Decimal | None:
    """The booking's prepayment as sent by the RMS, if any."""
    if reservation_id is None:
        return None
    return booking.prepayment(session.scalar(_PAYLOAD, {"reservation_id": reservation_id}))
