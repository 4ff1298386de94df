"""Our API's venue shapes: the declared state (`VenueSpec`, one `[[venues]]` entry of an apply
file) and the read (`VenueRead`). Each role names the partner serving the venue in that role
and that partner's own id for the venue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from maitred import text
from maitred.camel import CamelModel
from maitred.partners.schemas import Slug

ROLES: tuple[Literal["rms", "pos", "channel"], ...] = ("rms", "pos", "channel")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"unknown timezone {value!r}; use an IANA name such as Europe/Madrid"
        raise ValueError(message) from exc
    return value


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_timezone)]
Status = Annotated[
    str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True, to_lower=True)
]


class LinkSpec(CamelModel, text.StorableModel):
    """Which partner serves the venue in a role, and its own id for the venue."""

    model_config = ConfigDict(extra="forbid")

    partner: Slug
    venue_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class VenueFields(CamelModel, text.StorableModel):
    """A venue's declared state (the body of `PUT /admin/venues/{id}`); an omitted role means
    no partner in that role, so a PUT replaces the venue's links."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    timezone: Timezone = "UTC"
    # decision 6: the reservation statuses that open a POS order (compared case-insensitively).
    seating_statuses: Annotated[list[Status], Field(min_length=1)] = ["seated"]
    # decision 9: refuse to open the order when the POS rejects pre-ordered SKUs.
    reject_unknown_skus: bool = False
    # The ISO-4217 code the venue prices in; channel orders are refused while it is unset.
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    rms: LinkSpec | None = None
    pos: LinkSpec | None = None
    channel: LinkSpec | None = None

    def links(self) -> dict[str, LinkSpec]:
        """The declared links by role."""
        return {role: link for role in ROLES if (link := getattr(self, role)) is not None}


class VenueSpec(VenueFields):
    """A venue's declared state with its id."""

    id: Slug


class VenueRead(VenueFields):
    """A venue as reads show it."""

    id: str
    created_at: datetime
    updated_at: datetime
