"""Field types and the input base both Mozrest contracts (RMS and POS) share."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, PlainSerializer, StrictInt

from maitred import text

# Bounded by what is stored: NUMERIC(12, 2) and INTEGER columns (a 400-digit number is refused
# with a 400 naming the field, not left to overflow in the database).
Money = Annotated[
    Decimal,
    Field(gt=-(10**10), lt=10**10),
    PlainSerializer(float, return_type=float, when_used="json"),
]
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
# spec (error_body fixture): "This value should not be blank."
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]


class WireIn(text.StorableModel):
    """What a partner sends: unknown fields ignored, camelCase names, storable text only."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
