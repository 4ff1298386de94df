"""What the admin API and the CLI show of bookings (camelCase on the wire)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class RetryQueued(BaseModel):
    """A booking queued for another follow-up: the worker applies it as stored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    venue_id: str
    booking_id: str
    status: str
    queued: bool = True
