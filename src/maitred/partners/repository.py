"""Partner queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from maitred.partners.models import Partner
from maitred.venues.models import VenueLink


def get(session: Session, partner_id: str) -> Partner | None:
    """The partner with this id."""
    return session.get(Partner, partner_id)


def list_all(session: Session) -> Sequence[Partner]:
    """Every partner, by id."""
    return session.scalars(select(Partner).order_by(Partner.id)).all()


def key_holder(session: Session, api_key_hash: str) -> str | None:
    """The id of the partner whose inbound key has this hash."""
    statement = select(Partner.id).where(Partner.api_key_hash == api_key_hash)
    return session.scalars(statement).first()


def linked_roles(session: Session, partner_id: str) -> set[str]:
    """The roles under which venues link this partner."""
    statement = select(VenueLink.role).where(VenueLink.partner_id == partner_id).distinct()
    return set(session.scalars(statement))


def delete_one(session: Session, partner_id: str) -> bool:
    """Delete the partner (its links and deliveries go with it, by cascade); False if absent."""
    result = session.execute(delete(Partner).where(Partner.id == partner_id))
    return bool(getattr(result, "rowcount", 0))
