"""Claiming due deliveries under a lease, and keeping the lease alive while they are sent.

PostgreSQL: `SELECT … FOR UPDATE OF deliveries SKIP LOCKED`, so many workers in many processes
claim disjoint rows. SQLite: the same query inside the writer's BEGIN IMMEDIATE transaction,
which already makes claims one at a time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from maitred.clock import now
from maitred.db.sql import dialect_sql, execute, execute_many, read_timestamp, timestamp
from maitred.deliveries.models import EXPIRED, INFLIGHT, PENDING, Delivery, Endpoint

DROPPED = "dropped: past its deadline (no request made)"
EXPIRED_TOTAL = Counter(
    "maitred_deliveries_expired_total", "Deliveries dropped unsent, past their deadline."
)


@dataclass(frozen=True)
class Claim:
    """How many deliveries to claim and under which lease."""

    worker_id: str
    limit: int
    lease_seconds: float
    endpoint_cap: int
    probe_wait: float  # seconds a half-open circuit is held for its probe, awaiting its answer


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """Everything needed to send one claimed delivery (credentials still encrypted)."""

    id: int
    message_id: str
    endpoint_id: int
    partner_id: str
    venue_id: str | None
    kind: str
    method: str
    url: str
    body: str
    correlation_id: str | None
    attempt: int  # its number among all of the delivery's attempts, replays included
    attempt_token: str
    token_encrypted: str | None
    secret_encrypted: str | None
    attempts_at_replay: int = 0
    payload: bytes = b""  # `body` as the bytes that go on the wire, encoded once at the claim
    lease_until: datetime | None = None  # when the lease taken by this claim runs out
    expires_at: datetime | None = None  # sent only before this instant

    @property
    def scheduled_attempt(self) -> int:
        """Its number since the last replay: where the retry schedule stands (1-based)."""
        return self.attempt - self.attempts_at_replay


def _head_of_key() -> ColumnElement[bool]:
    """The delivery is the oldest unfinished one of its ordering key (or has none)."""
    older = aliased(Delivery)
    return or_(
        Delivery.ordering_key.is_(None),
        ~exists().where(
            older.endpoint_id == Delivery.endpoint_id,
            older.ordering_key == Delivery.ordering_key,
            older.state.in_((PENDING, INFLIGHT)),
            older.id < Delivery.id,
        ),
    )


_AT = bindparam("at", type_=Delivery.next_attempt_at.type)
_LIMIT = bindparam("limit", type_=Integer())
_FULL: BindParameter[int] = bindparam(
    "full", expanding=True
)  # endpoint ids this worker already sends to at cap


def _queries() -> tuple[
    Select[int, int, datetime | None], Select[int, datetime | None], Select[int]
]:
    """The claim's three queries, built once (their construction cost more than running them):

    - expired leases (a crashed worker's sends), oldest first, on open endpoints;
    - the endpoints that can take a send now (enabled, circuit closed or due for its probe, not
      at this worker's cap) and have pending work due, longest-waiting first;
    - one such endpoint's due deliveries that head their ordering key, by due time.

    Pending work is claimed endpoint by endpoint (index `ix_deliveries_endpoint_due`), so the
    backlog of a partner that is down (its circuit open, or disabled) is never walked to find
    another partner's work: with one due queue walked in due order, 20,000 rows of a failing
    partner made every claim ten times slower and the healthy partners' deliveries late.
    """
    head = _head_of_key()
    expired = (
        select(Delivery.id, Delivery.endpoint_id, Endpoint.circuit_open_until)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.state == INFLIGHT,
            Delivery.lease_expires_at <= _AT,
            Endpoint.disabled_at.is_(None),
            or_(Endpoint.circuit_open_until.is_(None), Endpoint.circuit_open_until <= _AT),
            head,
            Delivery.endpoint_id.not_in(_FULL),
        )
        .order_by(Delivery.id)
        .limit(_LIMIT)
        .with_for_update(of=Delivery, skip_locked=True)  # not rendered on SQLite
    )
    oldest_due = (
        select(func.min(Delivery.next_attempt_at))
        .where(
            Delivery.endpoint_id == Endpoint.id,
            Delivery.state == PENDING,
            Delivery.next_attempt_at <= _AT,
        )
        .scalar_subquery()
    )
    endpoints = (
        select(Endpoint.id, Endpoint.circuit_open_until)
        .where(
            Endpoint.disabled_at.is_(None),
            or_(Endpoint.circuit_open_until.is_(None), Endpoint.circuit_open_until <= _AT),
            Endpoint.id.not_in(_FULL),
            oldest_due.is_not(None),
        )
        .order_by(oldest_due, Endpoint.id)
    )
    pending = (
        select(Delivery.id)
        .where(
            Delivery.endpoint_id == bindparam("endpoint_id"),
            Delivery.state == PENDING,
            Delivery.next_attempt_at <= _AT,
            or_(Delivery.expires_at.is_(None), Delivery.expires_at > _AT),
            head,
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(_LIMIT)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    return expired, endpoints, pending


_EXPIRED, _ENDPOINTS, _PENDING = _queries()


# The lease's two statements run for every claim, so on the driver connection (like results):
# a row's columns arrive as a plain tuple, and the ids travel as one parameter (a JSON array on
# SQLite, an array on PostgreSQL), so each statement's text never changes.
_SELECT_LEASED = (
    "SELECT d.id, d.message_id, d.endpoint_id, d.partner_id, d.venue_id, d.kind, d.method,"
    " d.url, d.body, d.correlation_id, d.attempts, d.attempts_at_replay, d.expires_at,"
    " p.token_encrypted, p.signing_secret_encrypted"
    " FROM deliveries d LEFT OUTER JOIN partners p ON p.id = d.partner_id WHERE d.id "
)
_SET_LEASE = (
    "UPDATE deliveries SET state = :inflight, attempts = attempts + 1, lease_owner = :owner,"
    " lease_expires_at = :until, attempt_token = :token, updated_at = :at WHERE id "
)
_LOAD = {
    "sqlite": _SELECT_LEASED + "IN (SELECT value FROM json_each(:ids))",  # noqa: S608
    "postgresql": dialect_sql(_SELECT_LEASED + "= ANY(:ids)")["postgresql"],
}
_LEASE = {
    "sqlite": _SET_LEASE + "IN (SELECT value FROM json_each(:ids))",  # noqa: S608
    "postgresql": dialect_sql(_SET_LEASE + "= ANY(:ids)")["postgresql"],
}


def claimed_from(
    rows: dict[Any, Any], ids: list[int], token: str, until: datetime
) -> list[ClaimedDelivery]:
    """The claimed deliveries, in `ids`' order, from `_LOAD`'s rows by id (the writer's claim
    and the loop's, `loop_cycle`, read the same columns)."""
    return [
        ClaimedDelivery(
            id_, message_id, endpoint_id, partner_id, venue_id, kind, method, url, body,
            correlation_id, attempts + 1, token, token_encrypted, secret_encrypted,
            attempts_at_replay, body.encode(), until, read_timestamp(expires_at),
        )
        for (
            id_, message_id, endpoint_id, partner_id, venue_id, kind, method, url, body,
            correlation_id, attempts, attempts_at_replay, expires_at, token_encrypted,
            secret_encrypted,
        ) in (rows[i] for i in ids if i in rows)
    ]  # fmt: skip


def _lease(
    connection: Connection, spec: Claim, at: datetime, ids: list[int]
) -> list[ClaimedDelivery]:
    """Lease the chosen deliveries (rows already locked by the claim): one read with the
    partner's encrypted credentials, one update for all of them. The deliveries of one claim
    share its attempt token: a completion is still conditional on the delivery's id and the
    token of the claim that leased it, and any later claim has another token."""
    dialect = connection.dialect.name
    id_list: object = json.dumps(ids) if dialect == "sqlite" else ids
    rows = {row[0]: row for row in execute(connection, _LOAD, {"ids": id_list})}
    until = at + timedelta(seconds=spec.lease_seconds)
    token = uuid.uuid4().hex
    claimed = claimed_from(rows, ids, token, until)
    if claimed:
        leased: object = (
            json.dumps([c.id for c in claimed]) if dialect == "sqlite" else [c.id for c in claimed]
        )
        params = {"ids": leased, "inflight": INFLIGHT, "owner": spec.worker_id,
                  "until": timestamp(connection, until), "token": token,
                  "at": timestamp(connection, at)}  # fmt: skip
        execute(connection, _LEASE, params).close()
    return claimed


# The state is a literal and the deadline test is spelled as the partial index
# `ix_deliveries_expiry` is, so the planner can use it: a bound state let SQLite pick
# `ix_deliveries_due` and walk every pending row on every claim (15 % of the P3 worker's samples,
# docs/decisions/0035). SQLite is also told the index by name: without statistics it preferred
# the other one even with the literal.
_EXPIRE_WHERE = (
    f" SET state = '{EXPIRED}', last_error = :dropped, updated_at = :at"
    f" WHERE state = '{PENDING}' AND expires_at IS NOT NULL AND expires_at <= :at"
)
_EXPIRE = {
    "sqlite": "UPDATE deliveries INDEXED BY ix_deliveries_expiry" + _EXPIRE_WHERE,
    "postgresql": dialect_sql("UPDATE deliveries" + _EXPIRE_WHERE)["postgresql"],
}


def expire_overdue(session: Session, at: datetime) -> int:
    """Drop every pending delivery past its deadline (docs/decisions/0016): it is never sent
    late. Index `ix_deliveries_expiry` holds only pending rows with a deadline, so this costs
    one index probe when none is due."""
    connection = session.connection()
    params = {"dropped": DROPPED, "at": timestamp(connection, at)}
    cursor = execute(connection, _EXPIRE, params)
    count = int(cursor.rowcount)
    cursor.close()
    if count:
        EXPIRED_TOTAL.inc(count)
    return count


def _take_probe(session: Session, endpoint_id: int, was: datetime, until: datetime) -> bool:
    """Re-arm a half-open circuit so exactly one worker sends the probe."""
    result = session.execute(
        update(Endpoint)
        .where(Endpoint.id == endpoint_id, Endpoint.circuit_open_until == was)
        .values(circuit_open_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, spec: Claim, in_flight: Mapping[int, int]) -> list[ClaimedDelivery]:
    """Lease up to `spec.limit` due deliveries to `spec.worker_id`, at most `endpoint_cap` per
    endpoint counting the `in_flight` sends this worker already has, one probe per half-open
    circuit: expired leases first, then pending deliveries endpoint by endpoint."""
    if spec.limit <= 0:
        return []
    at = now()
    expire_overdue(session, at)
    full = [e for e, sending in in_flight.items() if sending >= spec.endpoint_cap]
    room = _Room(session, spec, at, in_flight)
    connection = session.connection()  # Core: no ORM objects for rows that are only looked at
    params: dict[str, Any] = {"at": at, "full": full, "limit": spec.limit}
    for delivery_id, endpoint_id, circuit_open_until in connection.execute(_EXPIRED, params):
        if room.take(endpoint_id, circuit_open_until):
            room.chosen.append(delivery_id)
            if room.done:
                break
    if not room.done:
        endpoints = connection.execute(_ENDPOINTS, params).all()
        for endpoint_id, circuit_open_until in endpoints:
            free = room.left(endpoint_id, circuit_open_until)
            if free <= 0:
                continue
            query = params | {"endpoint_id": endpoint_id, "limit": free}
            taken = connection.execute(_PENDING, query).scalars().all()
            room.chosen.extend(taken)
            room.room[endpoint_id] -= len(taken)
            if room.done:
                break
    return _lease(connection, spec, at, room.chosen) if room.chosen else []


class _Room:
    """How many more sends each endpoint may get in this claim, and what was chosen."""

    def __init__(
        self, session: Session, spec: Claim, at: datetime, in_flight: Mapping[int, int]
    ) -> None:
        self.session, self.spec, self.at, self.in_flight = session, spec, at, in_flight
        self.room: dict[int, int] = {}
        self.chosen: list[int] = []

    @property
    def done(self) -> bool:
        return len(self.chosen) >= self.spec.limit

    def left(self, endpoint_id: int, circuit_open_until: datetime | None) -> int:
        """Sends the endpoint may still get (a half-open circuit: one probe, if still ours)."""
        if endpoint_id not in self.room:
            free = self.spec.endpoint_cap - self.in_flight.get(endpoint_id, 0)
            if circuit_open_until is not None:
                until = self.at + timedelta(seconds=self.spec.probe_wait)
                taken = _take_probe(self.session, endpoint_id, circuit_open_until, until)
                free = min(free, 1 if taken else 0)
            self.room[endpoint_id] = free
        return min(self.room[endpoint_id], self.spec.limit - len(self.chosen))

    def take(self, endpoint_id: int, circuit_open_until: datetime | None) -> bool:
        """Count one send to the endpoint if it has room."""
        if self.left(endpoint_id, circuit_open_until) <= 0:
            return False
        self.room[endpoint_id] -= 1
        return True


_RELEASE = dialect_sql(
    "UPDATE deliveries SET state = :pending, attempts = attempts - 1, lease_owner = NULL,"
    " lease_expires_at = NULL, attempt_token = NULL, updated_at = :at"
    " WHERE id = :id AND attempt_token = :token AND state = :inflight"
)


def release(session: Session, deliveries: list[ClaimedDelivery]) -> None:
    """Give back claimed deliveries that were never sent (their endpoint started failing, the
    worker is stopping, their lease ran short): pending again as they were before the claim,
    due when they were, the attempt the claim counted taken back. Conditional on the claim's
    token, so a delivery another worker has since reclaimed is left alone."""
    if not deliveries:
        return
    connection = session.connection()
    at = timestamp(connection, now())
    rows = [
        {"id": d.id, "token": d.attempt_token, "pending": PENDING, "inflight": INFLIGHT, "at": at}
        for d in deliveries
    ]
    execute_many(connection, _RELEASE, rows)
