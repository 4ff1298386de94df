"""Channel-order tables (docs/decisions/0016 "Storage"): the orders, one trace row per judged
report, and each store's status as its POS reports it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class ChannelOrder(Base):
    """One order a channel placed, priced, committed and fired through the venue's POS."""

    __tablename__ = "channel_orders"
    __table_args__ = (
        Index("ix_channel_orders_channel", "channel_partner_id", "id"),
        Index("ix_channel_orders_venue", "venue_id", "created_at"),
        Index("ix_channel_orders_reference", "channel_partner_id", "external_reference_id"),
        Index(
            "ix_channel_orders_fire_due",
            "fire_due_at",
            postgresql_where=text("status = 'committed'"),
            sqlite_where=text("status = 'committed'"),
        ),
        Index(
            "ix_channel_orders_wait_deadline",
            "wait_deadline_at",
            postgresql_where=text("awaiting <> ''"),
            sqlite_where=text("awaiting <> ''"),
        ),
    )

    # The order id both partners see (a UUID).
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel_partner_id: Mapped[str] = mapped_column(String(64))
    pos_partner_id: Mapped[str] = mapped_column(String(64))
    venue_id: Mapped[str] = mapped_column(String(64))
    external_reference_id: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(32))
    service_mode: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    # The legs whose callback is waited for, comma-separated ("price", "commit,fire"…).
    awaiting: Mapped[str] = mapped_column(String(64), default="")
    commit_asked: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_time: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # The contract's own JSON documents, as the channel asked and as the POS priced.
    cart: Mapped[Any] = mapped_column(Json)
    priced: Mapped[Any | None] = mapped_column(Json)
    sub_total: Mapped[int | None] = mapped_column(BigInteger)
    tax: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int | None] = mapped_column(BigInteger)
    customer: Mapped[Any | None] = mapped_column(Json)
    request: Mapped[Any | None] = mapped_column(Json)  # the rest of the channel's price body
    payment_method: Mapped[str | None] = mapped_column(String(32))
    commit_request: Mapped[Any | None] = mapped_column(Json)  # the channel's commit body
    # A place's commit half, judged when the price callback lands.
    place_commit: Mapped[Any | None] = mapped_column(Json)
    errors: Mapped[Any | None] = mapped_column(Json)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # How many price webhooks were asked (a re-price asks again); the callback URL carries the
    # number, so the answer to a replaced request is told from the answer to the current one.
    price_asks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wait_deadline_at: Mapped[datetime | None] = mapped_column(Timestamp)
    fire_due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    committed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    preparation_seconds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ChannelOrderEvent(Base):
    """One judged report on an order, ignored and refused ones included (decision 13's trace)."""

    __tablename__ = "channel_order_events"
    __table_args__ = (UniqueConstraint("order_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("channel_orders.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    leg: Mapped[str | None] = mapped_column(String(16))
    reported_status: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    status_before: Mapped[str] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    errors: Mapped[Any | None] = mapped_column(Json)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp)


class StoreStatus(Base):
    """Whether a venue's store takes orders, as its POS last said (report or heartbeat)."""

    __tablename__ = "store_status"

    venue_id: Mapped[str] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )
    pos_partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_heartbeat_online: Mapped[bool | None] = mapped_column(Boolean)
