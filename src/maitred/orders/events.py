"""Telling the venue's RMS that a check changed: one event per check and change (decision 8),
its body built by the RMS's contract."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maitred.db import generations
from maitred.deliveries import service as deliveries
from maitred.orders import repository as repo
from maitred.orders.models import Check, PosOrder
from maitred.orders.ports import CheckEvent, RmsAdapter
from maitred.orders.repository import CheckRow, OrderRow
from maitred.partners import contracts
from maitred.tables import service as tables

EVENT_KIND = "rms.pos_order"


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


class Announcer:
    """Enqueues the pos_order events of one order's change (one per check and change).

    What the checks share is looked up once: the venue's RMS route, the order's tables in the
    RMS's ids, each booking's id and prepayment. The route and the venue's table mappings come
    from the process's routing cache (`maitred.db.generations`), checked against the database's
    generation once per job. The deliveries are written together when `send` is called, in
    the order the events were added (per-check order is kept)."""

    def __init__(
        self,
        session: Session,
        order: PosOrder | OrderRow,
        correlation_id: str | None,
        *,
        cache: generations.Cache | None = None,
        connection: Connection | None = None,
    ) -> None:
        self.session, self.order, self.correlation_id = session, order, correlation_id
        self._cache = cache
        self._connection = connection
        self._route: repo.RmsRoute | None = None
        self._rms_adapter: RmsAdapter | None = None
        self._looked_up = False
        self._tables: list[str] | None = None
        self._bookings: dict[int | None, tuple[str | None, Decimal]] = {}
        self._outgoing: list[deliveries.Outgoing] = []

    def add(self, check: Check | CheckRow, event_type: str) -> None:
        """Note the event of `check` in its current state; nothing when the venue's RMS has no
        webhook (the check stays unannounced, and is told later)."""
        route = self._rms()
        if route is None or self._rms_adapter is None:
            return
        key = f"check:{self.order.venue_id}:{check.check_number}"
        body = self._rms_adapter.check_event(self._event(check, event_type, route))
        check.announced = True
        # Only updates carry full state that a newer update makes moot; a create or a void
        # must always reach the RMS.
        coalesce = key + ":update" if event_type == "update" else None
        self._outgoing.append(deliveries.Outgoing(body, ordering_key=key, coalesce_key=coalesce))

    def send(self) -> None:
        """Write the noted events as deliveries to the venue's RMS."""
        route, outgoing, self._outgoing = self._route, self._outgoing, []
        if route is None or not outgoing or not route.webhook_url:
            return
        endpoint_id = route.endpoint_id
        if endpoint_id is None:  # the first event for this RMS, or its webhook URL changed
            endpoint_id = deliveries.ensure_endpoint(
                self.session, partner_id=route.partner_id, name="webhook", url=route.webhook_url
            )
            generations.forget(self.connection())  # the route cached has no endpoint
        deliveries.enqueue_many(
            self.session,
            outgoing,
            endpoint_id=endpoint_id,
            partner_id=route.partner_id,
            kind=EVENT_KIND,
            url=route.webhook_url,
            venue_id=self.order.venue_id,
            correlation_id=self.correlation_id,
        )

    def _rms(self) -> repo.RmsRoute | None:
        """The venue's RMS when it has a webhook and its contract takes check events."""
        if not self._looked_up:
            self._looked_up = True
            connection = self.connection()
            venue_id = self.order.venue_id
            cache = self._routing()
            route = cache.get(("rms_route", venue_id), lambda: repo.rms_route(connection, venue_id))
            adapter = contracts.rms_of(route.contract) if route is not None else None
            if route is not None and route.webhook_url and adapter is not None:
                self._route, self._rms_adapter = route, adapter
        return self._route

    def connection(self) -> Connection:
        """The job's connection (asked of the session once: that costs ~50 µs a time)."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def _routing(self) -> generations.Cache:
        """The routing cache, checked once for this announcer when the job has not."""
        if self._cache is None:
            self._cache = generations.current(self.connection())
        return self._cache

    def _event(self, check: Check | CheckRow, event_type: str, route: repo.RmsRoute) -> CheckEvent:
        """The event for one check, in the RMS's ids (venue, booking and tables)."""
        order = self.order
        booking_id, prepayment = self._booking(check.reservation_id or order.reservation_id)
        return CheckEvent(
            type=event_type,
            venue_id=route.external_venue_id,
            booking_id=booking_id,
            check_number=check.check_number,
            status=check.status,
            tables=self._rms_tables(),
            party_size=order.party_size,
            date=order.date if order.date is not None else _unix(order.opened_at),
            opened_at=_unix(check.opened_at),
            updated_at=_unix(check.pos_updated_at or check.updated_at),
            closed_at=_unix(check.closed_at),
            voided_at=_unix(check.voided_at),
            total_amount=check.total_amount,
            tax=check.tax,
            tip=check.tip,
            discount=check.discount,
            prepayment=prepayment,
            payment_method=check.payment_method,
            items=check.items,
        )

    def _rms_tables(self) -> list[str]:
        if self._tables is None:
            session, venue_id = self.session, self.order.venue_id
            mapped = self._routing().get(
                ("pos_to_rms", venue_id), lambda: tables.pos_to_rms_map(session, venue_id)
            )
            self._tables = tables.translate_with(mapped, list(self.order.pos_tables)).table_ids
        return self._tables

    def _booking(self, reservation_id: int | None) -> tuple[str | None, Decimal]:
        """The RMS's booking id and the booking's prepayment (0 without one)."""
        if reservation_id not in self._bookings:
            rows = repo.Rows(self.connection())
            booking_id, prepayment = repo.booking_of(rows, reservation_id)
            self._bookings[reservation_id] = (booking_id, prepayment if prepayment else Decimal(0))
        return self._bookings[reservation_id]


def announce(
    session: Session,
    *,
    order: PosOrder,
    check: Check,
    event_type: str,
    correlation_id: str | None,
) -> None:
    """Enqueue the event of one check for the venue's RMS (nothing when it has no webhook)."""
    announcer = Announcer(session, order, correlation_id)
    announcer.add(check, event_type)
    announcer.send()
