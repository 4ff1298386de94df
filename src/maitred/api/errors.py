"""Renders every error in the contracts' shape: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from maitred.errors import BadRequest, Details, MaitredError, RateLimited

log = structlog.get_logger(__name__)


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "items", 0, "quantity")` → `items[0].quantity`."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


# spec (error_body fixture): a blank required string reads "This value should not be blank."
BLANK = "This value should not be blank."
_BLANK_TYPES = {"string_pattern_mismatch", "string_too_short"}


def _message(error: Any) -> str:
    """The message for one pydantic error, in the contract's words where it has them."""
    kind = error.get("type")
    msg = str(error.get("msg", "invalid"))
    if kind == "json_invalid":
        return "Invalid JSON: " + msg.removeprefix("Invalid JSON: ")
    if kind in _BLANK_TYPES and error.get("ctx", {}).get("min_length", 1) == 1:
        return BLANK
    if kind == "missing":
        return "This field is missing."
    return msg


def validation_details(errors: Sequence[Any]) -> Details:
    """Pydantic errors → `{path: [{field: [messages]}]}`, one entry per failing field.

    `path` is the full location (`items[0].quantity`), `field` its last named segment
    (`quantity`); a body that is not JSON, or not an object, is reported under `body`.
    """
    details: Details = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        path = "body" if error.get("type") == "json_invalid" else field_path(loc)
        leaf = next((str(p) for p in reversed(loc) if isinstance(p, str)), path)
        if leaf == "body":
            leaf = path
        entry = details.setdefault(path, [{leaf: []}])
        entry[0].setdefault(leaf, []).append(_message(error))
    return details


def error_response(error: MaitredError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for one of our errors."""
    return JSONResponse(error.to_body(), status_code=error.status_code, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(MaitredError)
    async def _maitred(_: Request, exc: MaitredError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(exc, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(BadRequest(details=validation_details(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = MaitredError(str(exc.detail))
        error.status_code = exc.status_code
        return error_response(error, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error=type(exc).__name__)
        return error_response(MaitredError())
