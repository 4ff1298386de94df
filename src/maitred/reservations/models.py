"""Reservation table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class Reservation(Base):
    """The latest full state of a booking, as its RMS sent it."""

    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("venue_id", "booking_id"),
        # The follow-up queue: only the (few) pending rows are in the index.
        Index(
            "ix_reservations_followup",
            "updated_at",
            sqlite_where=text("followup_pending"),
            postgresql_where=text("followup_pending"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(String(64), index=True)
    rms_partner_id: Mapped[str] = mapped_column(String(64))
    booking_id: Mapped[str] = mapped_column(String(200))  # the RMS's id
    status: Mapped[str] = mapped_column(String(64))
    party_size: Mapped[int] = mapped_column(Integer)
    date: Mapped[int] = mapped_column(BigInteger)  # Unix seconds, as the RMS sends it
    rms_tables: Mapped[list[str]] = mapped_column(Json)
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set with every stored change, cleared once the worker has applied what the change means
    # for the POS (`orders.followups`): the change's outbox row, in the row itself.
    followup_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
