"""POS order and check tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp

Money = Numeric(12, 2)


class PosOrder(Base):
    """An order in a venue's POS, under maitred's id (sent to the POS as `id` on create)."""

    __tablename__ = "pos_orders"
    __table_args__ = (
        UniqueConstraint("venue_id", "pos_order_id"),
        Index("ix_pos_orders_venue_status", "venue_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    pos_order_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # "booking" (we opened it) | "pos" (walk-in)
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservations.id", ondelete="SET NULL"), index=True
    )
    # requested (create sent, no POS id yet) → open → closed | void; failed if the POS refused.
    status: Mapped[str] = mapped_column(String(16))
    pos_tables: Mapped[list[str]] = mapped_column(Json)
    party_size: Mapped[int | None] = mapped_column(Integer)
    date: Mapped[int | None] = mapped_column(BigInteger)  # seating time, Unix seconds
    opened_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    pos_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    needs_update: Mapped[bool] = mapped_column(Boolean, default=False)
    # Hash of the last create/update body sent to the POS: a reservation resend that would
    # send the same body again sends nothing.
    sent_hash: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Check(Base):
    """One check of a POS order (split bills give several), as the POS last described it."""

    __tablename__ = "checks"
    __table_args__ = (UniqueConstraint("venue_id", "check_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(
        ForeignKey("pos_orders.id", ondelete="CASCADE"), index=True
    )
    venue_id: Mapped[str] = mapped_column(String(64))
    check_number: Mapped[str] = mapped_column(String(200))
    # A booking can claim a check directly through the RMS's `checks[]` (multi-check).
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservations.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(8))
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tip: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    payment_method: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    announced: Mapped[bool] = mapped_column(Boolean, default=False)  # the RMS got `create`
    pos_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    voided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class CheckClaim(Base):
    """A check number an RMS listed in a booking's `checks[]` (decision 7). Kept apart from the
    check itself because the RMS may name a check before the POS has told maitred of it."""

    __tablename__ = "check_claims"
    __table_args__ = (UniqueConstraint("venue_id", "check_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    check_number: Mapped[str] = mapped_column(String(200))
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp)
