"""The field types, limits and input base every Mozrest wire model (RMS and POS legs) uses.

Each type accepts only what both databases store, and stores it the same way on both
(docs/decisions/0010): a value past a column is refused with a 400 naming the field instead of
overflowing in PostgreSQL or being kept differently by SQLite. Money is rounded here, before
anything stores it: to cents, half away from zero (what PostgreSQL's NUMERIC does itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from maitred import text

# What one request may carry (docs/decisions/0011): past these, a 400 naming the list. The
# writer applies a request in one transaction; these keep the largest legal one short.
MAX_CHECKS = 50  # checks of one POS order
MAX_ITEMS = 500  # items of one check
MAX_ORDER_ITEMS = 2_000  # items of one order, across its checks
MAX_TABLES = 50  # tables of one order or booking
MAX_PREORDER_ITEMS = 100  # pre-ordered items of one booking
MAX_CLAIMED_CHECKS = 100  # check numbers one booking lists in `checks[]`

# NUMERIC(12, 2): ten digits before the point, two after.
MONEY_LIMIT = Decimal("9999999999.99")
# What the published schema bounds an amount by, both ends excluded: what rounds to cents within
# MONEY_LIMIT (docs/decisions/0023).
MONEY_BOUND = 9_999_999_999.995
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


def at_most(limit: int) -> Any:
    """A list of at most `limit` elements, refused before its elements are validated: 20,000
    checks cost 40 ms of validation on the event loop only to be refused afterwards."""

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            raise PydanticCustomError(
                "too_long",
                "List should have at most {max_length} items, not {actual_length}",
                {"max_length": limit, "actual_length": len(value)},
            )
        return value

    return BeforeValidator(check)


Money = Annotated[
    Decimal,
    AfterValidator(to_cents),
    PlainSerializer(float, return_type=float, when_used="json"),
    # The contract's type (a JSON number) and the range `to_cents` keeps; a decimal string is
    # accepted too but not advertised (docs/decisions/0023).
    WithJsonSchema(
        {
            "type": "number",
            "exclusiveMinimum": -MONEY_BOUND,
            "exclusiveMaximum": MONEY_BOUND,
            "description": "Rounded to cents, half away from zero.",
        },
        mode="validation",
    ),
]


def no_amount() -> Any:
    """A `Money` field's default: zero, published as the number 0 (pydantic would say "0")."""
    return Field(default=Decimal(0), json_schema_extra={"default": 0})


# What maitred sends: amounts it stored, already in cents, so not validated again (on a
# 2,000-item order the per-item check was a tenth of the writer's time).
MoneyOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Int32 = Annotated[StrictInt, Field(ge=-INT32, le=INT32 - 1, json_schema_extra={"format": "int32"})]
# The upper bound is exclusive: the OpenAPI document keeps a bound as a float
# (api.docs.exact_integers), and 2**63 - 1 has no float while 2**63 has.
Int64 = Annotated[StrictInt, Field(ge=-INT64, lt=INT64, json_schema_extra={"format": "int64"})]
UnixSeconds = Annotated[StrictInt, Field(ge=FIRST_SECOND, lt=LAST_SECOND)]
# RFC 3339 times whose UTC form `to_utc` keeps whatever their offset (±23:59): 1970-01-02 to
# 9999-12-28 in the writer's own calendar; the two days at either end depend on the offset.
_DAY_IN_RANGE = (
    r"(?:(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    r"-[0-9]{2}-[0-9]{2}"
    r"|1970-(?:0[2-9]|1[0-2])-[0-9]{2}|1970-01-(?:0[2-9]|[1-3][0-9])"
    r"|9999-(?:0[0-9]|1[01])-[0-9]{2}|9999-12-(?:[01][0-9]|2[0-8]))"
)
INSTANT_PATTERN = (
    rf"^{_DAY_IN_RANGE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
Instant = Annotated[
    datetime,
    AfterValidator(to_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": INSTANT_PATTERN,
            "description": "Between 1970-01-01 and 9999-12-29 in UTC.",
        },
        mode="validation",
    ),
]

# spec (error_body fixture): "This value should not be blank."
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]
# Ids a partner gives, as long as the columns that keep them (String(200)).
PartnerId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
# A check number also names its deliveries' ordering key (String(255), with our venue id).
CheckNumber = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
TableId = Annotated[str, Field(max_length=200)]
ShortText = Annotated[str, Field(max_length=64)]  # e.g. a payment method (String(64))
Tables = Annotated[list[TableId], at_most(MAX_TABLES), Field(max_length=MAX_TABLES)]


class WireIn(text.StorableModel):
    """What a partner sends: unknown fields ignored, camelCase names, storable text only."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
