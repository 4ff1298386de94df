"""Endpoint, delivery and attempt tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Timestamp

# Delivery states. pending → inflight → delivered | pending (retry) | failed (exhausted,
# rejected); pending → superseded (a newer full-state payload replaced it before it was sent).
PENDING = "pending"
INFLIGHT = "inflight"
DELIVERED = "delivered"
FAILED = "failed"
SUPERSEDED = "superseded"
# pending → expired: its deadline (`expires_at`) passed before it could be sent; dropped, never
# sent late (docs/decisions/0016).
EXPIRED = "expired"
State = Literal["pending", "inflight", "delivered", "failed", "superseded", "expired"]

# What the engine reads of a partner to send to it: the token it presents and the secret it
# signs with, both encrypted. Named here rather than imported from the partners domain, which
# owns the table: the engine stays below the domains (docs/decisions/0022).
partner_credentials = table(
    "partners",
    column("id", String),
    column("token_encrypted", Text),
    column("signing_secret_encrypted", Text),
)


class Endpoint(Base):
    """Where a partner receives calls from maitred: its webhook URL or its API base URL.
    Health, circuit breaker and the disabled flag live here, shared by every worker."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))  # "webhook" or "api"
    url: Mapped[str] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(Timestamp)
    circuit_open_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_success_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_failure_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One message to one endpoint, from the moment it is written in the domain transaction
    until it is delivered, superseded or given up on."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # Claims walk pending work endpoint by endpoint (deliveries.claims).
        Index("ix_deliveries_endpoint_due", "endpoint_id", "state", "next_attempt_at"),
        Index("ix_deliveries_order", "endpoint_id", "ordering_key", "id"),
        Index("ix_deliveries_coalesce", "endpoint_id", "coalesce_key", "state"),
        # The claim drops pending deliveries past their deadline (few rows have one).
        Index(
            "ix_deliveries_expiry",
            "expires_at",
            postgresql_where=text("state = 'pending' AND expires_at IS NOT NULL"),
            sqlite_where=text("state = 'pending' AND expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Standard Webhooks `webhook-id`: stable across retries, redeliveries and replays.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    venue_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "webhook.ping", "rms.pos_order"
    method: Mapped[str] = mapped_column(String(8), default="POST")
    # Its endpoint's URL (plus a path for API calls): moved with the endpoint while the delivery
    # is unfinished or failed, so a retry or a replay goes where the partner is now.
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON bytes we sign and send
    ordering_key: Mapped[str | None] = mapped_column(String(255))
    coalesce_key: Mapped[str | None] = mapped_column(String(255))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # every attempt, replays too
    # `attempts` when it was last replayed: a replay restarts the retry schedule, not the count.
    attempts_at_replay: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    attempt_token: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(BigId)
    # After this instant the delivery is useless: it is expired instead of sent (None: never).
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)


class DeliveryAttempt(Base):
    """One try at sending a delivery, whatever came of it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    duration_ms: Mapped[float] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(64))
    response_body: Mapped[str | None] = mapped_column(Text)
