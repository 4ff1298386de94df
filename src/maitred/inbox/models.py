"""Inbound event table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Timestamp


class InboundEvent(Base):
    """One accepted inbound event. The unique key makes a partner's retry a no-op."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("partner_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    venue_id: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(Timestamp)
