"""Venue and venue-link tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class Venue(Base):
    """A restaurant, under maitred's own id."""

    __tablename__ = "venues"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # decision 6: the reservation statuses that open a POS order.
    seating_statuses: Mapped[list[str]] = mapped_column(Json, default=lambda: ["seated"])
    # decision 9: True makes a POS's `422 Unknown SKU(s)` a failure instead of reopening
    # the order without the pre-ordered items.
    reject_unknown_skus: Mapped[bool] = mapped_column(Boolean, default=False)
    # ISO-4217 code the venue prices in; channel orders are refused while it is unset.
    currency: Mapped[str | None] = mapped_column(String(3))
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
