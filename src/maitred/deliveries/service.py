"""Writing deliveries in the domain transaction (the outbox), coalescing them, and the
operator's actions on them: replay and re-enabling an endpoint."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.sql import dialect_sql, execute, execute_many, timestamp
from maitred.db.writer import after_commit
from maitred.deliveries import wake
from maitred.deliveries.models import (
    FAILED,
    INFLIGHT,
    PENDING,
    SUPERSEDED,
    Delivery,
    Endpoint,
)
from maitred.errors import InvalidTransition, NotFound

WEBHOOK, API = "webhook", "api"  # endpoint names: a partner's webhook URL, its API base URL
UNFINISHED = (PENDING, INFLIGHT, FAILED)  # what may still be sent (a failed one by a replay)


def ensure_endpoint(session: Session, *, partner_id: str, name: str, url: str) -> int:
    """The id of the partner's endpoint called `name`, created (or moved to `url`) as needed."""
    row = session.execute(
        select(Endpoint.id, Endpoint.url).where(
            Endpoint.partner_id == partner_id, Endpoint.name == name
        )
    ).first()
    if row is None:
        # Another process may register the same endpoint at the same moment (its first delivery
        # from two `serve` processes): ON CONFLICT DO NOTHING and read the winner's row, rather
        # than failing this transaction with the unique violation.
        dialect = session.get_bind().dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        created = session.execute(
            upsert(Endpoint)
            .values(partner_id=partner_id, name=name, url=url, consecutive_failures=0)
            .on_conflict_do_nothing(index_elements=["partner_id", "name"])
            .returning(Endpoint.id)
        ).scalar_one_or_none()
        if created is not None:
            return int(created)
        row = session.execute(
            select(Endpoint.id, Endpoint.url).where(
                Endpoint.partner_id == partner_id, Endpoint.name == name
            )
        ).one()
    if row.url != url:
        _move(session, int(row.id), old=row.url, new=url)
    return int(row.id)


def move_partner_endpoints(
    session: Session, *, partner_id: str, webhook_url: str | None, base_url: str | None
) -> int:
    """Point the partner's endpoints at its current URLs (after `apply`, the CLI or the admin
    API changed them), with their unfinished and failed deliveries; how many moved."""
    wanted = {WEBHOOK: webhook_url, API: base_url.rstrip("/") if base_url else None}
    rows = session.execute(
        select(Endpoint.id, Endpoint.name, Endpoint.url).where(Endpoint.partner_id == partner_id)
    ).all()
    moved = 0
    for endpoint_id, name, url in rows:
        new = wanted.get(name)
        if new and new != url:  # a URL taken away leaves the endpoint where it was
            _move(session, endpoint_id, old=url, new=new)
            moved += 1
    return moved


def _move(session: Session, endpoint_id: int, *, old: str, new: str) -> None:
    """Change an endpoint's URL, and the URL prefix of every delivery to it that may still be
    sent: each was enqueued as the endpoint's URL plus a path."""
    session.execute(update(Endpoint).where(Endpoint.id == endpoint_id).values(url=new))
    session.execute(
        update(Delivery)
        .where(
            Delivery.endpoint_id == endpoint_id,
            Delivery.state.in_(UNFINISHED),
            func.substr(Delivery.url, 1, len(old)) == old,
        )
        .values(url=literal(new, Text()) + func.substr(Delivery.url, len(old) + 1))
        .execution_options(synchronize_session=False)
    )


def new_message_id() -> str:
    """A Standard Webhooks message id."""
    return "msg_" + uuid.uuid4().hex


# `enqueue` runs on every path that produces an event (a POS update, a booking follow-up), so
# its two statements run on the driver connection of the session's transaction, as the inbox
# does: building them with SQLAlchemy cost ~1 ms of CPU per call, more than running them.
_INSERT = dialect_sql(
    "INSERT INTO deliveries (message_id, endpoint_id, partner_id, venue_id, kind, method, url,"
    " body, ordering_key, coalesce_key, correlation_id, state, attempts, attempts_at_replay,"
    " next_attempt_at, expires_at, created_at, updated_at)"
    " VALUES (:message_id, :endpoint_id, :partner_id, :venue_id, :kind, :method, :url, :body,"
    " :ordering_key, :coalesce_key, :correlation_id, :state, 0, 0, :due, :expires, :at, :at)"
    " RETURNING id"
)
_SUPERSEDE = dialect_sql(
    "UPDATE deliveries SET state = :superseded, superseded_by = :id, updated_at = :at"
    " WHERE endpoint_id = :endpoint_id AND coalesce_key = :coalesce_key AND state = :pending"
    " AND id < :id"
)


def enqueue_webhook(
    session: Session,
    *,
    partner_id: str,
    webhook_url: str,
    path: str = "",
    kind: str,
    body: dict[str, Any] | str,
    venue_id: str | None = None,
    ordering_key: str | None = None,
    coalesce_key: str | None = None,
    correlation_id: str | None = None,
    expires_at: datetime | None = None,
) -> int:
    """`enqueue` to the partner's webhook: its endpoint registered (or moved to `webhook_url`)
    first, the delivery sent to `webhook_url`, or to `webhook_url` + `path` where the contract
    gives each kind of webhook a path of its own. Its id."""
    endpoint_id = ensure_endpoint(session, partner_id=partner_id, name=WEBHOOK, url=webhook_url)
    return enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=partner_id,
        kind=kind,
        url=webhook_url.rstrip("/") + path if path else webhook_url,
        body=body,
        venue_id=venue_id,
        ordering_key=ordering_key,
        coalesce_key=coalesce_key,
        correlation_id=correlation_id,
        expires_at=expires_at,
    )


def enqueue(
    session: Session,
    *,
    endpoint_id: int,
    partner_id: str,
    kind: str,
    url: str,
    body: dict[str, Any] | str,
    method: str = "POST",
    venue_id: str | None = None,
    ordering_key: str | None = None,
    coalesce_key: str | None = None,
    correlation_id: str | None = None,
    delay: float = 0.0,
    expires_at: datetime | None = None,
) -> int:
    """Write one delivery in the caller's transaction and return its id; it is first tried
    `delay` seconds from now (at once by default), and dropped unsent once `expires_at` is
    past (never, by default).

    With a `coalesce_key`, older deliveries for the same entity and endpoint that have not been
    sent yet are marked superseded: the contract sends full state, so only the newest matters.
    """
    connection = session.connection()
    moment = now()
    at = timestamp(connection, moment)
    due = timestamp(connection, moment + timedelta(seconds=delay)) if delay else at
    payload = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    params = {
        "message_id": new_message_id(),
        "endpoint_id": endpoint_id,
        "partner_id": partner_id,
        "venue_id": venue_id,
        "kind": kind,
        "method": method,
        "url": url,
        "body": payload,
        "ordering_key": ordering_key,
        "coalesce_key": coalesce_key,
        "correlation_id": correlation_id,
        "state": PENDING,
        "at": at,
        "due": due,
        "expires": None if expires_at is None else timestamp(connection, expires_at),
    }
    cursor = execute(connection, _INSERT, params)
    delivery_id = int(cursor.fetchone()[0])
    cursor.close()
    if coalesce_key is not None:
        supersede = {"superseded": SUPERSEDED, "pending": PENDING, "id": delivery_id, "at": at}
        supersede |= {"endpoint_id": endpoint_id, "coalesce_key": coalesce_key}
        execute(connection, _SUPERSEDE, supersede).close()
    after_commit(session, wake.notify)
    return delivery_id


@dataclass(frozen=True)
class Outgoing:
    """One message of `enqueue_many`: its body and keys (the rest is shared by the batch)."""

    body: str
    ordering_key: str | None = None
    coalesce_key: str | None = None


_INSERT_MANY = dialect_sql(_INSERT["sqlite"].removesuffix(" RETURNING id"))
# The new row is found by its message id (unique): executemany returns no ids on SQLite.
_SUPERSEDE_BY_MESSAGE = dialect_sql(
    "UPDATE deliveries SET state = :superseded, updated_at = :at,"
    " superseded_by = (SELECT id FROM deliveries WHERE message_id = :message_id)"
    " WHERE endpoint_id = :endpoint_id AND coalesce_key = :coalesce_key AND state = :pending"
    " AND id < (SELECT id FROM deliveries WHERE message_id = :message_id)"
)


def enqueue_many(
    session: Session,
    messages: list[Outgoing],
    *,
    endpoint_id: int,
    partner_id: str,
    kind: str,
    url: str,
    venue_id: str | None = None,
    correlation_id: str | None = None,
) -> None:
    """Write several deliveries to one endpoint in the caller's transaction, in list order,
    with two statements in all (`enqueue` runs two per message): a 100-check order's events
    are one batch, not 200 round trips on the writer. Coalescing is `enqueue`'s."""
    if len(messages) == 1:
        [one] = messages
        enqueue(
            session,
            endpoint_id=endpoint_id,
            partner_id=partner_id,
            kind=kind,
            url=url,
            body=one.body,
            venue_id=venue_id,
            ordering_key=one.ordering_key,
            coalesce_key=one.coalesce_key,
            correlation_id=correlation_id,
        )
        return
    connection = session.connection()
    at = timestamp(connection, now())
    shared = {"endpoint_id": endpoint_id, "partner_id": partner_id, "venue_id": venue_id}
    shared |= {"kind": kind, "method": "POST", "url": url, "correlation_id": correlation_id}
    rows = [
        shared
        | {
            "message_id": new_message_id(),
            "body": message.body,
            "state": PENDING,
            "ordering_key": message.ordering_key,
            "coalesce_key": message.coalesce_key,
            "at": at,
            "due": at,
            "expires": None,
        }
        for message in messages
    ]
    execute_many(connection, _INSERT_MANY, rows)
    supersede = [
        {
            "superseded": SUPERSEDED,
            "pending": PENDING,
            "at": at,
            "endpoint_id": endpoint_id,
            "coalesce_key": row["coalesce_key"],
            "message_id": row["message_id"],
        }
        for row in rows
        if row["coalesce_key"] is not None
    ]
    if supersede:
        execute_many(connection, _SUPERSEDE_BY_MESSAGE, supersede)
    after_commit(session, wake.notify)


_WITHDRAW = dialect_sql(
    "UPDATE deliveries SET state = :superseded, updated_at = :at"
    " WHERE endpoint_id = :endpoint_id AND ordering_key = :ordering_key AND kind = :kind"
    " AND state = :pending AND attempts = 0 AND lease_owner IS NULL"
)


def withdraw_unsent(session: Session, *, endpoint_id: int, ordering_key: str, kind: str) -> int:
    """Take back the pending deliveries of that key and kind that were never tried (their
    receiver cannot have seen them), marking them superseded; how many. Row by row conditional:
    one a worker claimed meanwhile is not taken back."""
    connection = session.connection()
    params = {"superseded": SUPERSEDED, "pending": PENDING, "at": timestamp(connection, now())}
    params |= {"endpoint_id": endpoint_id, "ordering_key": ordering_key, "kind": kind}
    cursor = execute(connection, _WITHDRAW, params)
    count = int(cursor.rowcount)
    cursor.close()
    return count


def _reset_values(at: datetime) -> dict[str, Any]:
    # Same message_id on purpose: a replay is the same message, so receivers can deduplicate.
    # The attempt count goes on (attempt numbers keep counting); the retry schedule restarts.
    return {
        "state": PENDING,
        "attempts_at_replay": Delivery.attempts,
        "next_attempt_at": at,
        "lease_owner": None,
        "lease_expires_at": None,
        "attempt_token": None,
        "last_error": None,
        "updated_at": at,
    }


def replay(session: Session, delivery_id: int) -> None:
    """Put one failed delivery back in the queue, its retry schedule started again."""
    state = session.scalar(select(Delivery.state).where(Delivery.id == delivery_id))
    if state is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == FAILED)
        .values(**_reset_values(now()))
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise InvalidTransition(f"Delivery {delivery_id} is {state}; only failed ones replay")
    after_commit(session, wake.notify)


def replay_failed(
    session: Session,
    *,
    partner_id: str | None = None,
    endpoint_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
) -> int:
    """Put every failed delivery matching the filter back in the queue; returns how many.

    Conditional on state='failed' row by row, so two bulk replays at once queue nothing twice.
    """
    query = update(Delivery).where(Delivery.state == FAILED)
    if partner_id is not None:
        query = query.where(Delivery.partner_id == partner_id)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if kind is not None:
        query = query.where(Delivery.kind == kind)
    if since is not None:
        query = query.where(Delivery.updated_at >= since)
    result = session.execute(
        query.values(**_reset_values(now())).execution_options(synchronize_session=False)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        after_commit(session, wake.notify)
    return count


def supersede(session: Session, delivery_id: int, *, by: int) -> None:
    """Mark a failed delivery replaced by delivery `by` (e.g. a create sent again without the
    items the partner refused): a replay of every failed one must not send it again."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == FAILED)
        .values(state=SUPERSEDED, superseded_by=by, updated_at=now())
        .execution_options(synchronize_session=False)
    )


def enable_endpoint(session: Session, endpoint_id: int) -> None:
    """Re-enable a disabled endpoint and close its circuit; its pending deliveries go again."""
    result = session.execute(
        update(Endpoint)
        .where(Endpoint.id == endpoint_id)
        .values(
            disabled_at=None,
            disabled_reason=None,
            consecutive_failures=0,
            failing_since=None,
            circuit_open_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"Endpoint {endpoint_id} not found")
    after_commit(session, wake.notify)
