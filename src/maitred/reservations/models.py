"""Reservation table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class Reservation(Base):
    """The latest full state of a booking, as its RMS sent it."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("venue_id", "booking_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(String(64), index=True)
    rms_partner_id: Mapped[str] = mapped_column(String(64))
    booking_id: Mapped[str] = mapped_column(String(200))  # the RMS's id
    status: Mapped[str] = mapped_column(String(64))
    party_size: Mapped[int] = mapped_column(Integer)
    date: Mapped[int] = mapped_column(Integer)  # Unix seconds, as the RMS sends it
    rms_tables: Mapped[list[str]] = mapped_column(Json)
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
