"""Queries of the orders domain."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.sql import dialect_sql, execute, execute_many, read_timestamp, timestamp
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


# --------------------------------------------------------------------------------------------
# The POS apply path in plain SQL (docs/decisions/0030): the order and its checks read and
# written as rows, without ORM objects, on the job's driver connection.
# --------------------------------------------------------------------------------------------


@dataclass
class OrderRow:
    """The parts of a stored order that a POS call reads or changes."""

    id: str
    venue_id: str
    pos_order_id: str | None
    reservation_id: int | None
    status: str
    pos_tables: list[str]
    party_size: int | None
    date: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    voided_at: datetime | None
    pos_updated_at: datetime | None
    updated_at: datetime | None = None


@dataclass
class CheckRow:
    """One stored check as a row (`id` None until inserted), the shape events are built from."""

    id: int | None
    order_id: str
    venue_id: str
    check_number: str
    reservation_id: int | None
    status: str
    total_amount: Decimal
    tax: Decimal
    tip: Decimal
    discount: Decimal
    payment_method: str | None
    items: list[dict[str, Any]]
    content_hash: str
    announced: bool
    pos_updated_at: datetime | None
    opened_at: datetime
    closed_at: datetime | None
    voided_at: datetime | None
    updated_at: datetime


class Rows:
    """Conversions between the driver's values and the columns' types, as SQLAlchemy's own
    types do them (so a row written here is stored exactly as the ORM stored it): on SQLite,
    naive-UTC text for timestamps, floats for money, JSON text; on PostgreSQL, as they are."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        dumps = getattr(connection.dialect, "_json_serializer", None)
        self._dumps: Callable[[Any], str] = dumps or json.dumps

    def time_in(self, value: Any) -> datetime | None:
        return read_timestamp(value)

    def time_out(self, value: datetime | None) -> Any:
        return None if value is None else timestamp(self.connection, value)

    def money_in(self, value: Any) -> Decimal:
        if value is None:
            return Decimal(0)
        return Decimal(f"{float(value):.2f}") if self.sqlite else Decimal(value)

    def money_out(self, value: Decimal) -> Any:
        return float(value) if self.sqlite else value

    def json_in(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def json_out(self, value: Any) -> str:
        return self._dumps(value)


_ORDER_COLUMNS = (
    "id, venue_id, pos_order_id, reservation_id, status, pos_tables, party_size, date,"
    " opened_at, closed_at, voided_at, pos_updated_at, updated_at"
)
_LOAD_ORDER = dialect_sql(
    f"SELECT {_ORDER_COLUMNS} FROM pos_orders"  # noqa: S608 (constant column list)
    " WHERE venue_id = :venue_id AND (id = :ref OR pos_order_id = :ref)"
)
_INSERT_ORDER = dialect_sql(
    "INSERT INTO pos_orders (id, venue_id, pos_order_id, source, reservation_id, status,"
    " pos_tables, party_size, date, opened_at, closed_at, voided_at, pos_updated_at,"
    " needs_update, sent_hash, note, created_at, updated_at)"
    " VALUES (:id, :venue_id, :pos_order_id, :source, NULL, :status, :pos_tables, NULL, NULL,"
    " :at, NULL, NULL, NULL, :needs_update, NULL, NULL, :at, :at)"
)
_UPDATE_ORDER = dialect_sql(
    "UPDATE pos_orders SET pos_order_id = :pos_order_id, status = :status,"
    " pos_tables = :pos_tables, party_size = :party_size, closed_at = :closed_at,"
    " voided_at = :voided_at, pos_updated_at = :pos_updated_at, updated_at = :updated_at"
    " WHERE id = :id"
)
_SET_POS_ORDER_ID = dialect_sql("UPDATE pos_orders SET pos_order_id = :pos_order_id WHERE id = :id")
_CHECK_COLUMNS = (
    "id, order_id, venue_id, check_number, reservation_id, status, total_amount, tax, tip,"
    " discount, payment_method, items, content_hash, announced, pos_updated_at, opened_at,"
    " closed_at, voided_at, updated_at"
)
_CHECK_VALUES = (
    ":order_id, :venue_id, :check_number, :reservation_id, :status, :total_amount, :tax, :tip,"
    " :discount, :payment_method, :items, :content_hash, :announced, :pos_updated_at,"
    " :opened_at, :closed_at, :voided_at, :updated_at"
)
_CHECKS_OF_ORDER = dialect_sql(
    f"SELECT {_CHECK_COLUMNS} FROM checks"  # noqa: S608 (constant column list)
    " WHERE order_id = :order_id ORDER BY id"
)
_INSERT_CHECK = dialect_sql(
    f"INSERT INTO checks ({_CHECK_COLUMNS.removeprefix('id, ')})"  # noqa: S608
    f" VALUES ({_CHECK_VALUES})"
)
_UPDATE_CHECK = dialect_sql(
    "UPDATE checks SET order_id = :order_id, status = :status, total_amount = :total_amount,"
    " tax = :tax, tip = :tip, discount = :discount, payment_method = :payment_method,"
    " items = :items, content_hash = :content_hash, announced = :announced,"
    " pos_updated_at = :pos_updated_at, closed_at = :closed_at, voided_at = :voided_at,"
    " updated_at = :updated_at WHERE id = :id"
)
_BOOKING = dialect_sql("SELECT booking_id, payload FROM reservations WHERE id = :reservation_id")


@functools.lru_cache(maxsize=64)
def _in_sql(base: str, column: str, count: int) -> dict[str, str]:
    # Only numbered placeholders are formatted in; every value is a bound parameter.
    ids = ", ".join(f":n{i}" for i in range(count))
    return dialect_sql(f"{base} AND {column} IN ({ids})")


def _numbered(numbers: list[str]) -> dict[str, str]:
    return {f"n{i}": number for i, number in enumerate(numbers)}


def load_order(rows: Rows, *, venue_id: str, ref: str) -> OrderRow | None:
    """An order of the venue by maitred's id or the POS's id (decision 2), as a row."""
    cursor = execute(rows.connection, _LOAD_ORDER, {"venue_id": venue_id, "ref": ref})
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None
    return OrderRow(
        id=row[0],
        venue_id=row[1],
        pos_order_id=row[2],
        reservation_id=row[3],
        status=row[4],
        pos_tables=list(rows.json_in(row[5]) or []),
        party_size=row[6],
        date=row[7],
        opened_at=rows.time_in(row[8]),
        closed_at=rows.time_in(row[9]),
        voided_at=rows.time_in(row[10]),
        pos_updated_at=rows.time_in(row[11]),
        updated_at=rows.time_in(row[12]),
    )


def insert_order(rows: Rows, order: OrderRow, *, at: datetime) -> None:
    """A walk-in order the POS opened (no booking behind it yet)."""
    params: dict[str, Any] = {"id": order.id, "venue_id": order.venue_id}
    params |= {
        "pos_order_id": order.pos_order_id,
        "source": "pos",
        "status": order.status,
        "needs_update": False,
    }
    params |= {"pos_tables": rows.json_out(order.pos_tables), "at": rows.time_out(at)}
    execute(rows.connection, _INSERT_ORDER, params).close()


def update_order(rows: Rows, order: OrderRow) -> None:
    """Store what a POS call changed of an order."""
    params = {
        "id": order.id,
        "pos_order_id": order.pos_order_id,
        "status": order.status,
        "pos_tables": rows.json_out(order.pos_tables),
        "party_size": order.party_size,
        "closed_at": rows.time_out(order.closed_at),
        "voided_at": rows.time_out(order.voided_at),
        "pos_updated_at": rows.time_out(order.pos_updated_at),
        "updated_at": rows.time_out(order.updated_at),
    }
    execute(rows.connection, _UPDATE_ORDER, params).close()


def set_pos_order_id(rows: Rows, order_id: str, pos_order_id: str | None) -> None:
    """The POS's id of an order maitred learnt it for."""
    params = {"id": order_id, "pos_order_id": pos_order_id}
    execute(rows.connection, _SET_POS_ORDER_ID, params).close()


def _check_row(rows: Rows, row: Any) -> CheckRow:
    return CheckRow(
        id=int(row[0]),
        order_id=row[1],
        venue_id=row[2],
        check_number=row[3],
        reservation_id=row[4],
        status=row[5],
        total_amount=rows.money_in(row[6]),
        tax=rows.money_in(row[7]),
        tip=rows.money_in(row[8]),
        discount=rows.money_in(row[9]),
        payment_method=row[10],
        items=list(rows.json_in(row[11]) or []),
        content_hash=row[12],
        announced=bool(row[13]),
        pos_updated_at=rows.time_in(row[14]),
        opened_at=rows.time_in(row[15]) or now(),
        closed_at=rows.time_in(row[16]),
        voided_at=rows.time_in(row[17]),
        updated_at=rows.time_in(row[18]) or now(),
    )


def check_rows_by_number(rows: Rows, *, venue_id: str, numbers: list[str]) -> dict[str, CheckRow]:
    """The venue's checks with these POS numbers, by number: one statement for an order."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return {}
    base = f"SELECT {_CHECK_COLUMNS} FROM checks WHERE venue_id = :venue_id"  # noqa: S608
    sql = _in_sql(base, "check_number", len(wanted))
    cursor = execute(rows.connection, sql, {"venue_id": venue_id} | _numbered(wanted))
    found = [_check_row(rows, row) for row in cursor.fetchall()]
    cursor.close()
    return {check.check_number: check for check in found}


def check_rows_of(rows: Rows, order_id: str) -> list[CheckRow]:
    """The order's checks, oldest first, as rows."""
    cursor = execute(rows.connection, _CHECKS_OF_ORDER, {"order_id": order_id})
    found = [_check_row(rows, row) for row in cursor.fetchall()]
    cursor.close()
    return found


def claims_of(rows: Rows, *, venue_id: str, numbers: list[str]) -> dict[str, int]:
    """The reservation that claimed each of these check numbers, for those claimed."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return {}
    base = "SELECT check_number, reservation_id FROM check_claims WHERE venue_id = :venue_id"
    sql = _in_sql(base, "check_number", len(wanted))
    cursor = execute(rows.connection, sql, {"venue_id": venue_id} | _numbered(wanted))
    found = {str(number): int(reservation_id) for number, reservation_id in cursor.fetchall()}
    cursor.close()
    return found


def _check_params(rows: Rows, check: CheckRow) -> dict[str, Any]:
    return {
        "order_id": check.order_id,
        "venue_id": check.venue_id,
        "check_number": check.check_number,
        "reservation_id": check.reservation_id,
        "status": check.status,
        "total_amount": rows.money_out(check.total_amount),
        "tax": rows.money_out(check.tax),
        "tip": rows.money_out(check.tip),
        "discount": rows.money_out(check.discount),
        "payment_method": check.payment_method,
        "items": rows.json_out(check.items),
        "content_hash": check.content_hash,
        "announced": check.announced,
        "pos_updated_at": rows.time_out(check.pos_updated_at),
        "opened_at": rows.time_out(check.opened_at),
        "closed_at": rows.time_out(check.closed_at),
        "voided_at": rows.time_out(check.voided_at),
        "updated_at": rows.time_out(check.updated_at),
    }


def write_checks(rows: Rows, checks: list[CheckRow]) -> None:
    """Store checks: the new ones inserted, the others updated (one statement each kind)."""
    new = [_check_params(rows, check) for check in checks if check.id is None]
    old = [_check_params(rows, check) | {"id": check.id} for check in checks if check.id]
    if old:
        execute_many(rows.connection, _UPDATE_CHECK, old)
    if new:
        execute_many(rows.connection, _INSERT_CHECK, new)


def booking_of(rows: Rows, reservation_id: int | None) -> tuple[str | None, Decimal | None]:
    """The RMS's booking id of a reservation row and its prepayment as sent, in one statement."""
    if reservation_id is None:
        return None, None
    cursor = execute(rows.connection, _BOOKING, {"reservation_id": reservation_id})
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None, None
    return row[0], booking.prepayment(rows.json_in(row[1]))
