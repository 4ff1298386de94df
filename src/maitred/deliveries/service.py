"""Writing deliveries in the domain transaction (the outbox), and coalescing them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.writer import after_commit
from maitred.deliveries import wake
from maitred.deliveries.models import PENDING, SUPERSEDED, Delivery, Endpoint


def ensure_endpoint(session: Session, *, partner_id: str, name: str, url: str) -> int:
    """The id of the partner's endpoint called `name`, created (or its URL updated) as needed."""
    row = session.execute(
        select(Endpoint.id, Endpoint.url).where(
            Endpoint.partner_id == partner_id, Endpoint.name == name
        )
    ).first()
    if row is None:
        result = session.execute(
            insert(Endpoint)
            .values(partner_id=partner_id, name=name, url=url, consecutive_failures=0)
            .returning(Endpoint.id)
        )
        return int(result.scalar_one())
    if row.url != url:
        session.execute(update(Endpoint).where(Endpoint.id == row.id).values(url=url))
    return int(row.id)


def new_message_id() -> str:
    """A Standard Webhooks message id."""
    return "msg_" + uuid.uuid4().hex


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
) -> int:
    """Write one delivery in the caller's transaction and return its id.

    With a `coalesce_key`, older deliveries for the same entity and endpoint that have not been
    sent yet are marked superseded: the contract sends full state, so only the newest matters.
    """
    at = now()
    payload = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    delivery_id = int(
        session.execute(
            insert(Delivery)
            .values(
                message_id=new_message_id(),
                endpoint_id=endpoint_id,
                partner_id=partner_id,
                venue_id=venue_id,
                kind=kind,
                method=method,
                url=url,
                body=payload,
                ordering_key=ordering_key,
                coalesce_key=coalesce_key,
                correlation_id=correlation_id,
                state=PENDING,
                attempts=0,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
            .returning(Delivery.id)
        ).scalar_one()
    )
    if coalesce_key is not None:
        session.execute(
            update(Delivery)
            .where(
                Delivery.endpoint_id == endpoint_id,
                Delivery.coalesce_key == coalesce_key,
                Delivery.state == PENDING,
                Delivery.id < delivery_id,
            )
            .values(state=SUPERSEDED, superseded_by=delivery_id, updated_at=at)
        )
    after_commit(session, wake.notify)
    return delivery_id
