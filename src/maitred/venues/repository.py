"""Venue queries."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from maitred.venues.models import VenueLink

_RESOLVE = select(VenueLink.venue_id).where(
    VenueLink.partner_id == bindparam("partner_id"),
    VenueLink.external_id == bindparam("external_id"),
)
# The same query on the driver connection, for the ingest hot path (see maitred.db.sql).
_RESOLVE_SQL = {
    "sqlite": "SELECT venue_id FROM venue_links WHERE partner_id = ? AND external_id = ?",
    "postgresql": "SELECT venue_id FROM venue_links WHERE partner_id = %s AND external_id = %s",
}


def resolve_external(
    session: Session | Connection, *, partner_id: str, external_id: str
) -> str | None:
    """Our venue id for the id `partner_id` uses for it; None when that partner has no such link
    (another partner's venue id resolves to None too: a partner sees only its own links)."""
    if isinstance(session, Session):
        params = {"partner_id": partner_id, "external_id": external_id}
        return session.execute(_RESOLVE, params).scalar_one_or_none()
    cursor = session.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(_RESOLVE_SQL[session.dialect.name], (partner_id, external_id))
    row = cursor.fetchone()
    cursor.close()
    return None if row is None else str(row[0])
