"""Venue and venue-link tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Timestamp


class Venue(Base):
    """A restaurant, under maitred's own id."""

    __tablename__ = "venues"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class VenueLink(Base):
    """A partner's own id for a venue. A partner sees only the venues it is linked to."""

    __tablename__ = "venue_links"
    __table_args__ = (
        UniqueConstraint("partner_id", "external_id"),
        UniqueConstraint("venue_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # the partner's kind at this venue
    external_id: Mapped[str] = mapped_column(String(200))
