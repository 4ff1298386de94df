"""Venue queries for the admin paths (declaring, reading, deleting venues and their links).

The ingest hot path's lookups live in `repository.py`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from maitred.venues.models import Venue, VenueLink


def get(session: Session, venue_id: str) -> Venue | None:
    """The venue with this id."""
    return session.get(Venue, venue_id)


def list_all(session: Session) -> Sequence[Venue]:
    """Every venue, by id."""
    return session.scalars(select(Venue).order_by(Venue.id)).all()


def links_of(session: Session, venue_ids: Sequence[str]) -> list[VenueLink]:
    """The links of these venues."""
    statement = select(VenueLink).where(VenueLink.venue_id.in_(venue_ids)).order_by(VenueLink.id)
    return list(session.scalars(statement))


def delete_links(session: Session, link_ids: Sequence[int]) -> None:
    """Delete these links."""
    session.execute(delete(VenueLink).where(VenueLink.id.in_(link_ids)))


def delete_one(session: Session, venue_id: str) -> bool:
    """Delete the venue (its links and tables go with it, by cascade); False if absent."""
    result = session.execute(delete(Venue).where(Venue.id == venue_id))
    return bool(getattr(result, "rowcount", 0))
