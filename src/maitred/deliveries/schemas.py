"""What the admin API and the CLI show of deliveries and endpoints (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictInt, field_validator

from maitred import text
from maitred.camel import CamelModel
from maitred.clock import has_utc_form


class _Read(CamelModel):
    model_config = ConfigDict(from_attributes=True)


class AttemptRead(_Read):
    """One attempt at a delivery."""

    number: int
    worker_id: str
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error_class: str | None
    response_body: str | None


class DeliveryRead(_Read):
    """A delivery without its body or attempts."""

    id: int
    message_id: str
    endpoint_id: int
    partner_id: str
    venue_id: str | None
    kind: str
    method: str
    url: str
    state: str
    attempt_count: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    ordering_key: str | None
    coalesce_key: str | None
    correlation_id: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryRead):
    """A delivery with the exact body sent and every attempt."""

    body: str
    attempts: list[AttemptRead] = Field(default_factory=list)


class DeliveryPage(_Read):
    """A list of deliveries, newest first."""

    items: list[DeliveryRead]


class EndpointRead(_Read):
    """An endpoint's health, circuit and disabled flag."""

    id: int
    partner_id: str
    name: str
    url: str
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None
    circuit_open_until: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    pending: int = 0


class ReplayFilter(_Read, text.StorableModel):
    """Which failed deliveries a bulk replay puts back in the queue."""

    partner_id: str | None = None
    # Strict: a bulk replay must not read `true` as endpoint 1 or a bare number as a date.
    # (the bound exclusive: the published document holds 2**63 exactly, not 2**63 - 1)
    endpoint_id: Annotated[StrictInt, Field(ge=1, lt=2**63)] | None = None
    kind: str | None = None
    since: Annotated[datetime, AfterValidator(has_utc_form)] | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        if isinstance(value, int | float):
            raise ValueError("Input should be an ISO 8601 date-time")
        return value


class ReplayCount(_Read):
    """How many deliveries a bulk replay queued."""

    count: int


class Queued(_Read):
    """A delivery just queued."""

    delivery_id: int
    message_id: str
