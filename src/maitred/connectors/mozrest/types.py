"""The field types, limits and input base every Mozrest wire model (RMS and POS legs) uses.

Each type accepts only what both databases store, and stores it the same way on both
(docs/decisions/0010): a value past a column is refused with a 400 naming the field instead of
overflowing in PostgreSQL or being kept differently by SQLite. Money is rounded here, before
anything stores it: to cents, half away from zero (what PostgreSQL's NUMERIC does itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, PlainSerializer, StrictInt
from pydantic_core import PydanticCustomError

from maitred import text

# NUMERIC(12, 2): ten digits before the point, two after.
MONEY_LIMIT = Decimal("9999999999.99")
CENT = Decimal("0.01")
INT32 = 2**31
INT64 = 2**63
# Unix seconds from 1970 to the last day every venue's zone can show (9999-12-30 UTC): a
# booking's time is turned into the venue's local time before it goes to the POS.
FIRST_SECOND = 0
LAST_SECOND = 253_402_128_000  # 9999-12-30T00:00:00Z, excluded
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)


def to_cents(value: Decimal) -> Decimal:
    """`value` rounded to cents, half away from zero; an error past NUMERIC(12, 2) once rounded."""
    # The magnitude is checked first: quantizing 1E+400 would raise instead of answering.
    if abs(value) >= 10**10 or abs(rounded := value.quantize(CENT, ROUND_HALF_UP)) > MONEY_LIMIT:
        raise PydanticCustomError(
            "money_range",
            "Amounts must lie between -9999999999.99 and 9999999999.99 once rounded to cents.",
        )
    return rounded


def to_utc(value: datetime) -> datetime:
    """`value` in UTC (a time without an offset is UTC), between 1970 and 9999-12-29."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 has no UTC form
        value = LAST_INSTANT
    if not FIRST_INSTANT <= value < LAST_INSTANT:
        raise PydanticCustomError(
            "instant_range", "Times must lie between 1970-01-01 and 9999-12-29 in UTC."
        )
    return value


Money = Annotated[
    Decimal,
    AfterValidator(to_cents),
    PlainSerializer(float, return_type=float, when_used="json"),
]
Int32 = Annotated[StrictInt, Field(ge=-INT32, le=INT32 - 1)]
Int64 = Annotated[StrictInt, Field(ge=-INT64, le=INT64 - 1)]
UnixSeconds = Annotated[StrictInt, Field(ge=FIRST_SECOND, lt=LAST_SECOND)]
Instant = Annotated[datetime, AfterValidator(to_utc)]

# spec (error_body fixture): "This value should not be blank."
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]
# Ids a partner gives, as long as the columns that keep them (String(200)).
PartnerId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
# A check number also names its deliveries' ordering key (String(255), with our venue id).
CheckNumber = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
TableId = Annotated[str, Field(max_length=200)]
ShortText = Annotated[str, Field(max_length=64)]  # e.g. a payment method (String(64))


class WireIn(text.StorableModel):
    """What a partner sends: unknown fields ignored, camelCase names, storable text only."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
