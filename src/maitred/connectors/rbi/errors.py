"""Errors in the RBI contract's shape (contracts §2.12): `{status, code, message, errors[]}`,
each entry naming where in the request it is (`location`, e.g. `cart.menuSelections[0].quantity`).

The Mozrest routes keep their own `{"error": …}` shape; these are for the RBI routes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from maitred.connectors.rbi.channel_wire import Order
from maitred.connectors.rbi.types import Wire

VALIDATION = "ValidationError"
# A body with a thousand faults is told in a few entries.
MAX_ENTRIES = 20


class ErrorEntry(Wire):
    """One error: what, and where."""

    code: Annotated[str, Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]
    details: str | None = None
    domain: str | None = None
    location: str | None = None
    locationType: str | None = None
    sendReport: str | None = None
    extendedHelp: str | None = None


class ErrorBody(Wire):
    """The error answer: `code` and `message` repeat the first entry's."""

    status: Annotated[int, Field(ge=400, le=599)]
    code: Annotated[str, Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]
    errors: list[ErrorEntry]


class RbiErrorBody(ErrorBody):
    """The RBI contract's error answer, as the OpenAPI document names it. A subclass, not a
    `title`: the document's components are keyed by class name, so with only a title the RBI
    routes' errors would point at the Mozrest routes' `ErrorBody`, another shape
    (tests/api/test_openapi.py checks each route's errors against its own)."""


class OrderErrorBody(ErrorBody):
    """An error about an order, with the order as it now stands."""

    order: Order | None = None


# Where a located fault is, as `locationType` names it, by the first part of FastAPI's `loc`.
LOCATION_TYPES = {"body": "requestBody", "path": "path", "query": "query", "header": "header"}


def error_body(
    status: int,
    code: str,
    message: str,
    *,
    location: str | None = None,
    location_type: str = "requestBody",
) -> ErrorBody:
    """A one-entry error body; `location_type` says where `location` is (a body field unless
    told otherwise)."""
    entry = ErrorEntry(
        code=code,
        message=message,
        location=location,
        locationType=location_type if location else None,
    )
    text = f"{location} {message}" if location else message
    return ErrorBody(status=status, code=code, message=text, errors=[entry])


def validation_body(exc: ValidationError, *, status: int = 400) -> ErrorBody:
    """The error body for a request that failed validation, one entry per fault."""
    entries = [_entry(error) for error in exc.errors(include_url=False)[:MAX_ENTRIES]]
    first = entries[0]
    message = f"{first.location} {first.message}" if first.location else first.message
    return ErrorBody(status=status, code=VALIDATION, message=message, errors=entries)


def _entry(error: ErrorDetails, location_type: str = "requestBody") -> ErrorEntry:
    location = _location(error)
    return ErrorEntry(
        code=VALIDATION,
        message=_message(error),
        location=location or None,
        locationType=location_type if location else None,
    )


def _location(error: ErrorDetails) -> str:
    """`cart.menuSelections[0].quantity`; a tagged union's tag (`PRICED`) is not a field."""
    parts: list[str] = []
    for part in error["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not part.isupper():
            parts.append(f".{part}" if parts else part)
    if error["type"] == "union_tag_invalid":
        parts.append(str(error.get("ctx", {}).get("discriminator", "")).strip("'"))
    return "".join(parts)


def _message(error: ErrorDetails) -> str:
    ctx: dict[str, Any] = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "too_short":
        return f"must contain at least {_elements(ctx.get('min_length'))}"
    if kind == "too_long":
        limit = ctx.get("max_length")
        return "must be empty" if limit == 0 else f"must contain at most {_elements(limit)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        word = "least" if kind == "greater_than_equal" else "most"
        return f"must be at {word} {ctx.get('ge', ctx.get('le'))}"
    if kind == "less_than" and isinstance(ctx.get("lt"), int):
        return f"must be at most {ctx['lt'] - 1}"  # integer fields only carry `lt`
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}"
    if kind in ("literal_error", "union_tag_invalid"):
        return f"must be one of {ctx.get('expected', ctx.get('expected_tags'))}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    return str(error["msg"])


def _elements(count: object) -> str:
    return f"{count} element" if count == 1 else f"{count} elements"


def request_body(errors: Sequence[Any], *, status: int = 400) -> ErrorBody:
    """The error body for FastAPI's validation errors of a request (its body, path or
    query), one entry per fault; a location is named within its part (`cart.total`,
    `orderId`), and `locationType` says which part."""
    entries = []
    for error in list(errors)[:MAX_ENTRIES]:
        loc = tuple(error.get("loc", ()))
        part = LOCATION_TYPES.get(loc[0]) if loc and isinstance(loc[0], str) else None
        where = loc[1:] if part else loc
        details: ErrorDetails = {**error, "loc": where}  # type: ignore[typeddict-item]
        entries.append(_entry(details, part or "requestBody"))
    if not entries:
        entries = [ErrorEntry(code=VALIDATION, message="the request is not valid")]
    first = entries[0]
    message = f"{first.location} {first.message}" if first.location else first.message
    return ErrorBody(status=status, code=VALIDATION, message=message, errors=entries)


CODES_BY_STATUS = {
    400: VALIDATION,
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}


def status_body(
    status: int, message: str, *, location: str | None = None, location_type: str = "requestBody"
) -> ErrorBody:
    """A one-entry error body for an HTTP status, the code named after it."""
    code = CODES_BY_STATUS.get(status, "InternalError" if status >= 500 else "Error")
    return error_body(status, code, message, location=location, location_type=location_type)
