"""A signed test event to a partner's webhook, sent through the delivery engine like any other."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.deliveries import service
from maitred.errors import NotFound
from maitred.partners.models import Partner

PING_KIND = "webhook.ping"


def enqueue_ping(session: Session, *, partner_id: str, correlation_id: str | None = None) -> int:
    """Queue `{"type": "ping", …}` to the partner's webhook URL; returns the delivery id."""
    webhook_url = session.scalar(select(Partner.webhook_url).where(Partner.id == partner_id))
    if not webhook_url:
        raise NotFound(f"Partner {partner_id} not found or has no webhook URL")
    endpoint_id = service.ensure_endpoint(
        session, partner_id=partner_id, name="webhook", url=webhook_url
    )
    sent_at = now().isoformat(timespec="seconds").replace("+00:00", "Z")
    return service.enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=partner_id,
        kind=PING_KIND,
        url=webhook_url,
        body={"type": "ping", "partnerId": partner_id, "sentAt": sent_at},
        correlation_id=correlation_id,
    )
