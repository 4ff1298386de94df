"""A signed test event to a partner's webhook, sent through the delivery engine like any other;
its body is the partner's contract's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.deliveries import service
from maitred.errors import NotFound
from maitred.partners import contracts, repository

PING_KIND = "webhook.ping"


def enqueue_ping(session: Session, *, partner_id: str, correlation_id: str | None = None) -> int:
    """Queue the contract's test event to the partner's webhook URL; returns the delivery id."""
    partner = repository.get(session, partner_id)
    if partner is None or not partner.webhook_url:
        raise NotFound(f"Partner {partner_id} not found or has no webhook URL")
    contract = contracts.find(partner.contract)
    if contract is None or contract.ping is None:
        raise NotFound(f"Partner {partner_id}'s contract ({partner.contract}) has no test event")
    endpoint_id = service.ensure_endpoint(
        session, partner_id=partner_id, name="webhook", url=partner.webhook_url
    )
    sent_at = now().isoformat(timespec="seconds").replace("+00:00", "Z")
    return service.enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=partner_id,
        kind=PING_KIND,
        url=partner.webhook_url,
        body=contract.ping(partner_id, sent_at),
        correlation_id=correlation_id,
    )
