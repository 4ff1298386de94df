"""Capability table: one row per (venue, partner, feature) that maitred has evidence about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Timestamp


class Capability(Base):
    """Whether a partner's API at a venue supports a feature, as its answers showed."""

    __tablename__ = "capabilities"
    __table_args__ = (UniqueConstraint("venue_id", "partner_id", "feature"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    feature: Mapped[str] = mapped_column(String(64))  # e.g. "orders.update"
    state: Mapped[str] = mapped_column(String(16))  # "supported" | "missing"
    reason: Mapped[str] = mapped_column(Text)  # the evidence, e.g. "HTTP 405 to PUT …"
    detected_at: Mapped[datetime] = mapped_column(Timestamp)  # when it came to this state
