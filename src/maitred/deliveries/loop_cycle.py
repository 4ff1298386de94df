"""The dispatcher's bookkeeping cycle written by the event loop itself (`db.batch.LoopWriter`):
results, what is given back and the next claim in one transaction, plain statements with
positional parameters, no writer thread, no SQLAlchemy (docs/decisions/0035).

Profiled under P3, the cycle on the writer thread cost ~130 µs of CPU per delivery, a third of
the worker's: SQLAlchemy's session, savepoints and compiled statements per cycle, the hand-off
of every cycle's result back to the loop, and the two threads taking the GIL from each other.
Here the loop runs the same statements on its own connection (SQLite: `sqlite3` directly;
PostgreSQL: the batch thread's blocking psycopg connection, one hand-off per cycle).

It covers the common cycle only: results whose delivery is finished (delivered, failed for good,
expired) with no outcome hook and no failure against the endpoint's health. A cycle with anything
else (a retry to schedule or supersede, a failure that counts towards the circuit, a 410, an
outcome hook) is written by `dispatcher._cycle_job` on the writer thread as before, and so is any
cycle this one fails to write (its transaction rolled back first).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from maitred.clock import now
from maitred.db.batch import BatchConnection
from maitred.deliveries import outcomes
from maitred.deliveries.claims import (
    DROPPED,
    EXPIRED_TOTAL,
    Claim,
    ClaimedDelivery,
    claimed_from,
)
from maitred.deliveries.models import DELIVERED, PENDING
from maitred.deliveries.results import AttemptResult
from maitred.monitoring.service import INSERT_TRACES

# The states are literals in the statements (`models.PENDING`, `INFLIGHT`, `EXPIRED`; a bound
# state kept SQLite from the partial index `ix_deliveries_expiry`, and the planner picks its
# indexes better on literals). The text is constant: every value travels as a parameter.
_HEAD = (
    "(d.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries o"
    " WHERE o.endpoint_id = d.endpoint_id AND o.ordering_key = d.ordering_key"
    " AND o.state IN ('pending', 'inflight') AND o.id < d.id))"
)
_OPEN = "e.disabled_at IS NULL AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= ?)"
_EXPIRED_LEASES = "".join((
    "SELECT d.id, d.endpoint_id, e.circuit_open_until FROM deliveries d",
    " JOIN endpoints e ON e.id = d.endpoint_id",
    " WHERE d.state = 'inflight' AND d.lease_expires_at <= ? AND ", _OPEN, " AND ", _HEAD,
))  # fmt: skip
_DUE_ENDPOINTS = "".join((
    "SELECT id, circuit_open_until FROM (SELECT e.id, e.circuit_open_until,",
    " (SELECT min(d.next_attempt_at) FROM deliveries d WHERE d.endpoint_id = e.id",
    " AND d.state = 'pending' AND d.next_attempt_at <= ?) AS due",
    " FROM endpoints e WHERE ", _OPEN, "{full}) s WHERE due IS NOT NULL ORDER BY due, id",
))  # fmt: skip
_DUE = "".join((
    "SELECT d.id FROM deliveries d",
    " WHERE d.endpoint_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?",
    " AND (d.expires_at IS NULL OR d.expires_at > ?) AND ", _HEAD,
    " ORDER BY d.next_attempt_at, d.id LIMIT ?",
))  # fmt: skip
_LOCK = " FOR UPDATE OF d SKIP LOCKED"  # PostgreSQL: workers claim disjoint rows
_TAKE_PROBE = (
    "UPDATE endpoints SET circuit_open_until = ? WHERE id = ? AND circuit_open_until = ?"
    " RETURNING id"
)
_EXPIRE_SET = (
    " SET state = 'expired', last_error = ?, updated_at = ?"
    " WHERE state = 'pending' AND expires_at IS NOT NULL AND expires_at <= ? RETURNING id"
)
_EXPIRE = {
    "sqlite": "UPDATE deliveries INDEXED BY ix_deliveries_expiry" + _EXPIRE_SET,
    "postgresql": "UPDATE deliveries" + _EXPIRE_SET,
}
_IDS = {"sqlite": "IN (SELECT value FROM json_each(?))", "postgresql": "= ANY(?)"}
_LOAD = (
    "SELECT d.id, d.message_id, d.endpoint_id, d.partner_id, d.venue_id, d.kind, d.method,"
    " d.url, d.body, d.correlation_id, d.attempts, d.attempts_at_replay, d.expires_at,"
    " p.token_encrypted, p.signing_secret_encrypted"
    " FROM deliveries d LEFT OUTER JOIN partners p ON p.id = d.partner_id WHERE d.id "
)
_LEASE = (
    "UPDATE deliveries SET state = 'inflight', attempts = attempts + 1, lease_owner = ?,"
    " lease_expires_at = ?, attempt_token = ?, updated_at = ? WHERE id "
)
_RELEASE = (
    "UPDATE deliveries SET state = 'pending', attempts = attempts - 1, lease_owner = NULL,"
    " lease_expires_at = NULL, attempt_token = NULL, updated_at = ?"
    " WHERE id = ? AND attempt_token = ? AND state = 'inflight'"
)
_COMPLETE = (
    "UPDATE deliveries SET state = ?, next_attempt_at = ?, last_status = ?, last_error = ?,"
    " delivered_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL,"
    " attempt_token = NULL WHERE id = ? AND attempt_token = ? AND state = 'inflight'"
)
_ATTEMPT = (
    "INSERT INTO delivery_attempts (delivery_id, number, worker_id, started_at, duration_ms,"
    " status_code, error_class, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# Only successes and neutral outcomes are written here (`plain`): a success closes the circuit
# and restarts the failure count, as `results._health_values` does for such a batch.
_HEALTHY = (
    "UPDATE endpoints SET last_success_at = ?, consecutive_failures = 0, failing_since = NULL,"
    " circuit_open_until = NULL WHERE id = ?"
)
_EXTEND = "UPDATE deliveries SET lease_expires_at = ? WHERE state = 'inflight' AND attempt_token "
_HEADERS_COLUMN = 9  # request_headers in `TraceRecord.values`


@dataclass(slots=True)
class Written:
    """What a cycle written by the loop leased (empty when it claimed nothing)."""

    claimed: list[ClaimedDelivery]


def plain(result: AttemptResult) -> bool:
    """Whether a result's recording is covered here: its delivery is done, no outcome hook waits
    for it, and it counts nothing against its endpoint's health."""
    decision = result.decision
    return (
        decision.state != PENDING
        and decision.health != "failure"
        and not decision.disable_endpoint
        and outcomes.hook_for(result.kind) is None
    )


async def write_cycle(
    connection: BatchConnection,
    results: Sequence[AttemptResult],
    give_back: Sequence[ClaimedDelivery],
    spec: Claim,
    held: Mapping[int, int],
) -> Written:
    """One cycle in the loop's transaction, in the writer's order: results (a recorded head lets
    the next delivery of its key be claimed here), what is given back, then the claim."""
    if results:
        await _record(connection, results)
    if give_back:
        await _release(connection, give_back)
    claimed = await _claim(connection, spec, held) if spec.limit > 0 else []
    return Written(claimed)


async def _record(connection: BatchConnection, results: Sequence[AttemptResult]) -> None:
    """Completions, attempt rows and trace rows, a statement each for the whole cycle; one
    health update per endpoint that had a success."""
    ts = connection.timestamp
    completions, attempts, traces = [], [], []
    last_success: dict[int, datetime] = {}
    for r in results:
        finished = ts(r.finished_at)
        state = r.decision.state
        completions.append(
            (state, finished, r.status_code, r.error, finished if state == DELIVERED else None,
             finished, r.delivery_id, r.attempt_token)
        )  # fmt: skip
        attempts.append(
            (r.delivery_id, r.number, r.worker_id, ts(r.started_at), round(r.duration_ms, 3),
             r.status_code, r.error_class, r.response_body)
        )  # fmt: skip
        trace = r.trace.values(connection)
        if r.trace_headers is not None:
            trace = (*trace[:_HEADERS_COLUMN], r.trace_headers, *trace[_HEADERS_COLUMN + 1 :])
        traces.append(trace)
        if r.decision.health == "success":
            last_success[r.endpoint_id] = r.finished_at
    await connection.executemany(_COMPLETE, completions)
    await connection.executemany(_ATTEMPT, attempts)
    await connection.executemany(INSERT_TRACES, traces)
    for endpoint_id, at in last_success.items():
        await connection.execute(_HEALTHY, (ts(at), endpoint_id))


async def _release(connection: BatchConnection, deliveries: Sequence[ClaimedDelivery]) -> None:
    """As `claims.release`: pending again as before the claim, if still under its token."""
    at = connection.timestamp(now())
    rows = [(at, d.id, d.attempt_token) for d in deliveries]
    await connection.executemany(_RELEASE, rows)


def _not_full(column: str, full: Sequence[int]) -> tuple[str, tuple[int, ...]]:
    """The clause leaving out the endpoints this worker already sends to at cap."""
    if not full:
        return "", ()
    return f" AND {column} NOT IN ({', '.join('?' * len(full))})", tuple(full)


async def _claim(
    connection: BatchConnection, spec: Claim, in_flight: Mapping[int, int]
) -> list[ClaimedDelivery]:
    """As `claims.claim`: expired leases first, then pending deliveries endpoint by endpoint,
    at most `endpoint_cap` per endpoint counting this worker's own, one probe per half-open
    circuit."""
    at = now()
    at_ = connection.timestamp(at)
    expired = await connection.fetch(_EXPIRE[connection.dialect], (DROPPED, at_, at_))
    if expired:
        EXPIRED_TOTAL.inc(len(expired))
    full = [e for e, sending in in_flight.items() if sending >= spec.endpoint_cap]
    lock = _LOCK if connection.dialect == "postgresql" else ""
    room = _Room(connection, spec, at, in_flight)
    clause, ids = _not_full("d.endpoint_id", full)
    query = _EXPIRED_LEASES + clause + " ORDER BY d.id LIMIT ?" + lock
    for delivery_id, endpoint_id, circuit in await connection.fetch(
        query, (at_, at_, *ids, spec.limit)
    ):
        if await room.take(endpoint_id, circuit):
            room.chosen.append(delivery_id)
            if room.done:
                break
    if not room.done:
        clause, ids = _not_full("e.id", full)
        endpoints = await connection.fetch(_DUE_ENDPOINTS.format(full=clause), (at_, at_, *ids))
        for endpoint_id, circuit in endpoints:
            free = await room.left(endpoint_id, circuit)
            if free <= 0:
                continue
            rows = await connection.fetch(_DUE + lock, (endpoint_id, at_, at_, free))
            room.chosen.extend(row[0] for row in rows)
            room.room[endpoint_id] -= len(rows)
            if room.done:
                break
    return await _lease(connection, spec, at, room.chosen) if room.chosen else []


class _Room:
    """How many more sends each endpoint may get in this claim, and what was chosen."""

    def __init__(
        self,
        connection: BatchConnection,
        spec: Claim,
        at: datetime,
        in_flight: Mapping[int, int],
    ) -> None:
        self.connection, self.spec, self.at, self.in_flight = connection, spec, at, in_flight
        self.room: dict[int, int] = {}
        self.chosen: list[int] = []

    @property
    def done(self) -> bool:
        return len(self.chosen) >= self.spec.limit

    async def left(self, endpoint_id: int, circuit_open_until: Any) -> int:
        """Sends the endpoint may still get (a half-open circuit: one probe, if still ours)."""
        if endpoint_id not in self.room:
            free = self.spec.endpoint_cap - self.in_flight.get(endpoint_id, 0)
            if circuit_open_until is not None:
                free = min(
                    free, 1 if await self._take_probe(endpoint_id, circuit_open_until) else 0
                )
            self.room[endpoint_id] = free
        return min(self.room[endpoint_id], self.spec.limit - len(self.chosen))

    async def take(self, endpoint_id: int, circuit_open_until: Any) -> bool:
        """Count one send to the endpoint if it has room."""
        if await self.left(endpoint_id, circuit_open_until) <= 0:
            return False
        self.room[endpoint_id] -= 1
        return True

    async def _take_probe(self, endpoint_id: int, was: Any) -> bool:
        """Re-arm a half-open circuit so exactly one worker sends the probe (`was` as read)."""
        until = self.connection.timestamp(self.at + timedelta(seconds=self.spec.probe_wait))
        rows = await self.connection.fetch(_TAKE_PROBE, (until, endpoint_id, was))
        return bool(rows)


async def _lease(
    connection: BatchConnection, spec: Claim, at: datetime, ids: list[int]
) -> list[ClaimedDelivery]:
    """As `claims._lease`: one read with the partners' encrypted credentials, one update; the
    deliveries of one claim share its attempt token."""
    dialect = connection.dialect
    id_list: object = json.dumps(ids) if dialect == "sqlite" else ids
    rows = {row[0]: row for row in await connection.fetch(_LOAD + _IDS[dialect], (id_list,))}
    until = at + timedelta(seconds=spec.lease_seconds)
    token = uuid.uuid4().hex
    claimed = claimed_from(rows, ids, token, until)
    if claimed:
        leased = [c.id for c in claimed]
        params = (
            spec.worker_id,
            connection.timestamp(until),
            token,
            connection.timestamp(at),
            json.dumps(leased) if dialect == "sqlite" else leased,
        )
        await connection.execute(_LEASE + _IDS[dialect], params)
    return claimed


async def extend_leases(
    connection: BatchConnection, tokens: Sequence[str], lease_seconds: float
) -> None:
    """Push back the lease of every delivery still held under one of `tokens` (the dispatcher's
    heartbeat). Written by the loop like the claims, so a heartbeat is never held up behind the
    writer thread while this process's own claims find the lease run out."""
    if not tokens:
        return
    until = connection.timestamp(now() + timedelta(seconds=lease_seconds))
    dialect = connection.dialect
    ids: object = json.dumps(list(tokens)) if dialect == "sqlite" else list(tokens)
    await connection.execute(_EXTEND + _IDS[dialect], (until, ids))
