"""Reading deliveries and endpoints for operators (admin API, CLI)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.deliveries.models import PENDING, Delivery, DeliveryAttempt, Endpoint
from maitred.deliveries.schemas import AttemptRead, DeliveryDetail, DeliveryRead, EndpointRead
from maitred.errors import NotFound


def list_deliveries(
    session: Session, *, state: str | None = None, partner_id: str | None = None, limit: int = 100
) -> list[DeliveryRead]:
    """Deliveries, newest first, optionally filtered."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Delivery.state == state)
    if partner_id is not None:
        query = query.where(Delivery.partner_id == partner_id)
    return [DeliveryRead.model_validate(_columns(d)) for d in session.scalars(query)]


def _columns(delivery: Delivery) -> dict[str, object]:
    values = {c.key: getattr(delivery, c.key) for c in Delivery.__table__.columns}
    values["attempt_count"] = values.pop("attempts")
    return values


def get_delivery(session: Session, delivery_id: int) -> DeliveryDetail:
    """One delivery with its attempts, or NotFound."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    attempts = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.started_at, DeliveryAttempt.id)
    )
    return DeliveryDetail.model_validate(
        {**_columns(delivery), "attempts": [AttemptRead.model_validate(a) for a in attempts]}
    )


def message_id(session: Session, delivery_id: int) -> str:
    """The `webhook-id` of a delivery."""
    found = session.scalar(select(Delivery.message_id).where(Delivery.id == delivery_id))
    if found is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    return found


def list_endpoints(session: Session, endpoint_id: int | None = None) -> list[EndpointRead]:
    """Every endpoint (or one) with its health and its number of pending deliveries."""
    counts = select(Delivery.endpoint_id, func.count()).where(Delivery.state == PENDING)
    query = select(Endpoint).order_by(Endpoint.partner_id, Endpoint.name)
    if endpoint_id is not None:
        counts = counts.where(Delivery.endpoint_id == endpoint_id)
        query = query.where(Endpoint.id == endpoint_id)
    pending = {e: n for e, n in session.execute(counts.group_by(Delivery.endpoint_id))}
    endpoints = session.scalars(query)
    reads = []
    for endpoint in endpoints:
        read = EndpointRead.model_validate(endpoint)
        read.pending = int(pending.get(endpoint.id, 0))
        reads.append(read)
    return reads


def get_endpoint(session: Session, endpoint_id: int) -> EndpointRead:
    """One endpoint's health, or NotFound."""
    found = list_endpoints(session, endpoint_id)
    if not found:
        raise NotFound(f"Endpoint {endpoint_id} not found")
    return found[0]
