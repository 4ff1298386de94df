"""Renders every error in the contracts' shape: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from maitred.errors import (
    BadRequest,
    Details,
    MaitredError,
    RateLimited,
    ServiceUnavailable,
    field_details,
)
from maitred.web.validation import validation_details

log = structlog.get_logger(__name__)


def error_response(error: MaitredError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for one of our errors."""
    return JSONResponse(error.to_body(), status_code=error.status_code, headers=headers)


class ErrorContent(BaseModel):
    """`error` of an error body: the HTTP status, a message, the failing fields."""

    code: int
    message: str
    details: Details


class ErrorBody(BaseModel):
    """The contracts' error body."""

    error: ErrorContent


# What any operation may answer besides its success: the edge (413, 431), authentication (401),
# rate limits (429) and storage (503) apply to every route; 409 and 415 only to writes.
_ERRORS = {
    "400": "Invalid input; `details` names the failing fields",
    "401": "Missing or invalid key",
    "404": "Unknown, or another partner's (never 403)",
    "409": "Conflicts with the current state",
    "413": "Request body over the size limit",
    "415": "Content-Type not JSON, or a charset other than UTF-8",
    "429": "Too many requests; see `Retry-After`",
    "431": "Request line and headers over the size limit",
    "503": "Storage momentarily unavailable; retry with backoff",
}
_NOT_ANSWERED_TO = {"409": {"get", "head"}, "415": {"get", "head", "delete"}}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API answers: every error in the contract's shape
    (FastAPI would advertise 422 with its own shape, which this API never sends)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["ErrorBody"] = ErrorBody.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        schemas.update(schemas["ErrorBody"].pop("$defs", {}))
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for status, text in _ERRORS.items():
                    if method in _NOT_ANSWERED_TO.get(status, set()):
                        continue
                    responses.setdefault(
                        status,
                        {
                            "description": text,
                            "content": {"application/json": {"schema": _ERROR_REF}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
        if exc.status_code == 400:  # a body FastAPI could not parse (not UTF-8, too deep...)
            error.details = field_details("body", error.message)
        return error_response(error, dict(exc.headers or {}))

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # The database is down or restarting, not this request's fault: 503, so the partner
        # retries (a read outside the writer, e.g. authentication's cache refresh, lands here).
        log.warning("database unavailable", error=type(exc.orig).__name__)
        return error_response(ServiceUnavailable())

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error=type(exc).__name__)
        return error_response(MaitredError())
