"""Writing what attempts came to: many completions per writer job, since this is the hot path.

Every delivery update is conditional on `id AND attempt_token`, so a worker whose lease expired
(and whose delivery was reclaimed by another) cannot complete it a second time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import structlog
from sqlalchemy import ColumnElement, Connection, Table, and_, case, func, select, update
from sqlalchemy.orm import Session, aliased

from maitred.clock import now
from maitred.db.errors import database_unavailable
from maitred.db.sql import dialect_sql, execute_many, timestamp
from maitred.deliveries import outcomes, rules
from maitred.deliveries.models import (
    DELIVERED,
    INFLIGHT,
    PENDING,
    SUPERSEDED,
    Delivery,
    Endpoint,
)
from maitred.monitoring.service import TraceRecord

log = structlog.get_logger(__name__)
_ENDPOINTS = cast(Table, Endpoint.__table__)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and the decision taken on it."""

    delivery_id: int
    endpoint_id: int
    attempt_token: str
    number: int
    worker_id: str
    started_at: datetime
    finished_at: datetime
    duration_ms: float
    status_code: int | None
    error_class: str | None
    error: str | None
    response_body: str | None
    decision: rules.Decision
    trace: TraceRecord
    kind: str = ""
    # The trace's request headers, redacted, as JSON (the sender builds it from a template);
    # None: `trace.request_headers` is encoded when the trace is written.
    trace_headers: str | None = None


@dataclass(frozen=True)
class Breaker:
    """Circuit-breaker settings."""

    threshold: int
    cooldown: float  # already scaled
    # Failing without a single success for this long disables the endpoint (0: never); already
    # scaled. Any success restarts the count, so sporadic failure never disables.
    disable_after: float = 0.0


# The completion and the attempt row are written for every attempt, so they run on the driver
# connection of the job's transaction (ARCHITECTURE §3): SQLAlchemy's per-row parameter
# processing cost more than the statements themselves.
_COMPLETE = dialect_sql(
    "UPDATE deliveries SET state = :state, next_attempt_at = :next, last_status = :status,"
    " last_error = :error, delivered_at = :delivered, updated_at = :at, lease_owner = NULL,"
    " lease_expires_at = NULL, attempt_token = NULL"
    " WHERE id = :id AND attempt_token = :token AND state = :inflight"
)
_ATTEMPT = dialect_sql(
    "INSERT INTO delivery_attempts (delivery_id, number, worker_id, started_at, duration_ms,"
    " status_code, error_class, response_body)"
    " VALUES (:delivery_id, :number, :worker_id, :started_at, :duration_ms, :status_code,"
    " :error_class, :response_body)"
)


def _completion(connection: Connection, result: AttemptResult) -> dict[str, object]:
    finished = timestamp(connection, result.finished_at)
    delay = result.decision.delay or 0.0
    return {
        "id": result.delivery_id,
        "token": result.attempt_token,
        "inflight": INFLIGHT,
        "state": result.decision.state,
        "next": timestamp(connection, result.finished_at + timedelta(seconds=delay)),
        "status": result.status_code,
        "error": result.error,
        "delivered": finished if result.decision.state == DELIVERED else None,
        "at": finished,
    }


def _attempt(connection: Connection, result: AttemptResult) -> dict[str, object]:
    return {
        "delivery_id": result.delivery_id,
        "number": result.number,
        "worker_id": result.worker_id,
        "started_at": timestamp(connection, result.started_at),
        "duration_ms": round(result.duration_ms, 3),
        "status_code": result.status_code,
        "error_class": result.error_class,
        "response_body": result.response_body,
    }


_TRACE = dialect_sql(
    "INSERT INTO traces (at, direction, partner_id, venue_id, method, url, status_code, outcome,"
    " duration_ms, request_headers, request_body, response_body, error, correlation_id,"
    " delivery_id)"
    " VALUES (:at, :direction, :partner_id, :venue_id, :method, :url, :status_code, :outcome,"
    " :duration_ms, :request_headers, :request_body, :response_body, :error, :correlation_id,"
    " :delivery_id)"
)


def _trace(connection: Connection, result: AttemptResult) -> dict[str, object]:
    """The trace row of an attempt, on the driver connection like the attempt row: the
    request headers arrive as JSON, the rest as `TraceRecord.row` gives it."""
    row = result.trace.row()
    row["at"] = timestamp(connection, row["at"])
    headers = result.trace_headers
    if headers is None and row["request_headers"] is not None:
        headers = json.dumps(row["request_headers"])
    row["request_headers"] = headers
    return row


def record_results(session: Session, results: list[AttemptResult], breaker: Breaker) -> None:
    """Complete deliveries, record attempts and traces, and update endpoint health: a few
    statements for the whole batch, whatever its size."""
    if not results:
        return
    hooked = _winning_hooked(session, results)
    connection = session.connection()
    execute_many(connection, _COMPLETE, [_completion(connection, r) for r in results])
    execute_many(connection, _ATTEMPT, [_attempt(connection, r) for r in results])
    execute_many(connection, _TRACE, [_trace(connection, r) for r in results])
    _supersede_retries(session, [r.delivery_id for r in results if r.decision.state == PENDING])
    by_endpoint: dict[int, list[AttemptResult]] = defaultdict(list)
    for r in results:
        by_endpoint[r.endpoint_id].append(r)
    for endpoint_id, batch in by_endpoint.items():
        _update_health(session, endpoint_id, batch, breaker)
    for result, hook in hooked:
        _run_hook(session, hook, result)


def _run_hook(session: Session, hook: outcomes.Hook, result: AttemptResult) -> None:
    """A failing hook must not block recording the attempt (the delivery would stay in flight
    and be sent again): its changes roll back alone and the failure is logged."""
    outcome = outcomes.Outcome(
        delivery_id=result.delivery_id,
        kind=result.kind,
        status_code=result.status_code,
        response_body=result.response_body,
        state=result.decision.state,
    )
    try:
        with session.begin_nested():
            hook(session, outcome)
    except Exception as exc:
        if database_unavailable(exc):
            raise  # the database, not the hook: the whole record waits for it, nothing dropped
        log.exception("delivery outcome hook failed", delivery_id=result.delivery_id)


def _winning_hooked(
    session: Session, results: list[AttemptResult]
) -> list[tuple[AttemptResult, outcomes.Hook]]:
    """Results with a hook whose attempt token still holds (checked before completing)."""
    wanted = [(r, hook) for r in results if (hook := outcomes.hook_for(r.kind)) is not None]
    if not wanted:
        return []
    rows = session.execute(
        select(Delivery.id, Delivery.attempt_token).where(
            Delivery.id.in_([r.delivery_id for r, _ in wanted]), Delivery.state == INFLIGHT
        )
    ).all()
    tokens = {delivery_id: token for delivery_id, token in rows}
    return [(r, hook) for r, hook in wanted if tokens.get(r.delivery_id) == r.attempt_token]


def _supersede_retries(session: Session, delivery_ids: list[int]) -> None:
    """A retry whose payload was replaced while it was in flight is superseded, not retried:
    `enqueue` only supersedes pending rows, so this closes the in-flight window."""
    if not delivery_ids:
        return
    newer = aliased(Delivery)
    newest = (
        select(func.max(newer.id))
        .where(
            newer.endpoint_id == Delivery.endpoint_id,
            newer.coalesce_key == Delivery.coalesce_key,
            newer.id > Delivery.id,
        )
        .scalar_subquery()
    )
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.state == PENDING,
            Delivery.coalesce_key.is_not(None),
            newest.is_not(None),
        )
        .values(state=SUPERSEDED, superseded_by=newest, updated_at=now())
        .execution_options(synchronize_session=False)
    )


def _update_health(
    session: Session, endpoint_id: int, batch: list[AttemptResult], breaker: Breaker
) -> None:
    """One UPDATE per endpoint per batch, whatever the number of outcomes in it."""
    values = _health_values(batch, breaker)
    gone = next((r for r in batch if r.decision.disable_endpoint), None)
    if gone is not None:
        values.update(
            disabled_at=gone.finished_at,
            disabled_reason=f"{gone.status_code} Gone from {gone.trace.url}",
        )
    if values:  # Core, not the ORM's bulk update: nothing here is an ORM object
        session.connection().execute(
            update(_ENDPOINTS).where(_ENDPOINTS.c.id == endpoint_id).values(**values)
        )


def _health_values(batch: list[AttemptResult], breaker: Breaker) -> dict[str, object]:
    change = rules.fold_health([r.decision.health for r in batch])
    values: dict[str, object] = {}
    successes = [r for r in batch if r.decision.health == "success"]
    failures = [r for r in batch if r.decision.health == "failure"]
    if successes:
        values.update(last_success_at=successes[-1].finished_at)
    if failures:
        values.update(last_failure_at=failures[-1].finished_at, last_error=failures[-1].error)
    if change.reset:
        tail = failures[-change.failures :] if change.failures else []
        opens = rules.breaker_opens(change.failures, breaker.threshold)
        values.update(
            consecutive_failures=change.failures,
            failing_since=tail[0].finished_at if tail else None,
            circuit_open_until=_open_until(batch, breaker) if opens else None,
        )
    elif change.failures:
        count = Endpoint.consecutive_failures + change.failures
        since = func.coalesce(Endpoint.failing_since, failures[0].finished_at)
        values.update(
            consecutive_failures=count,
            failing_since=since,
            circuit_open_until=case(
                (count >= breaker.threshold, _open_until(batch, breaker)),
                else_=Endpoint.circuit_open_until,
            )
            if breaker.threshold > 0
            else Endpoint.circuit_open_until,
        )
        if breaker.disable_after > 0:
            values.update(_disable_values(since, failures[-1], breaker.disable_after))
    return values


def _disable_values(
    since: ColumnElement[datetime], last: AttemptResult, window: float
) -> dict[str, object]:
    """Disable the endpoint once it has failed for `window` seconds without a single success
    (`since` is its first failure after the last success)."""
    failing_too_long = and_(
        Endpoint.disabled_at.is_(None),
        since <= last.finished_at - timedelta(seconds=window),
    )
    reason = f"no success for {timedelta(seconds=round(window))}; last error: {last.error}"
    return {
        "disabled_at": case((failing_too_long, last.finished_at), else_=Endpoint.disabled_at),
        "disabled_reason": case((failing_too_long, reason), else_=Endpoint.disabled_reason),
    }


def _open_until(batch: list[AttemptResult], breaker: Breaker) -> datetime:
    return batch[-1].finished_at + timedelta(seconds=breaker.cooldown)
