"""The one error tree. Each error carries its HTTP status; none of this imports FastAPI.

    MaitredError (500)
    ├── BadRequest (400)           input that fails validation; `details` names the fields
    ├── Unauthorized (401)         missing or wrong credentials
    ├── NotFound (404)             absent, or belonging to another partner (never 403)
    ├── RequestTimeout (408)       a request head unfinished after MAITRED_REQUEST_READ_SECONDS
    ├── Conflict (409)             clashes with the current state
    │   └── InvalidTransition (409)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415) a body that is not JSON, or declared in another charset
    ├── HeadersTooLarge (431)      request line and headers over MAITRED_MAX_HEADER_BYTES
    ├── RateLimited (429)
    ├── ServiceUnavailable (503)   storage unavailable; the partner should retry
    └── PartnerError (502)         a partner's API misbehaved
        ├── PartnerUnavailable     worth retrying (timeouts, 5xx, 429)
        └── PartnerRejected        not worth retrying (4xx)

The rendered body follows the partner contracts' shape:
`{"error": {"code": <status>, "message": <text>, "details": {<field>: [{<field>: [msgs]}]}}}`.

Apart from the tree, `SetupError` is what an operator must fix before a process can run (a
setting, a configuration file, the database's address): no HTTP status, the CLI prints its
message and exits 2.
"""

from __future__ import annotations

from typing import Any

Details = dict[str, list[dict[str, list[str]]]]


class MaitredError(Exception):
    """Base of every error maitred raises on purpose."""

    status_code = 500
    default_message = "Internal error"

    def __init__(self, message: str | None = None, *, details: Details | None = None) -> None:
        self.message = message or self.default_message
        self.details: Details = details or {}
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        """The contract's error body."""
        return {
            "error": {"code": self.status_code, "message": self.message, "details": self.details}
        }


def field_details(path: str, *messages: str) -> Details:
    """Details naming one field: `{path: [{last_segment: [messages]}]}` as the contract shows."""
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0] or path
    return {path: [{leaf: list(messages)}]}


class BadRequest(MaitredError):
    status_code = 400
    default_message = "Validation failed"


class Unauthorized(MaitredError):
    status_code = 401
    default_message = "Missing or invalid API key"


class Forbidden(MaitredError):
    status_code = 403
    default_message = "Forbidden"


class NotFound(MaitredError):
    status_code = 404
    default_message = "Not found"


class RequestTimeout(MaitredError):
    status_code = 408
    default_message = "Request timeout"


class Conflict(MaitredError):
    status_code = 409
    default_message = "Conflicts with the current state"


class InvalidTransition(Conflict):
    default_message = "Transition not allowed"


class PayloadTooLarge(MaitredError):
    status_code = 413
    default_message = "Request body too large"


class UnsupportedMediaType(MaitredError):
    status_code = 415
    default_message = "Unsupported media type"


class HeadersTooLarge(MaitredError):
    status_code = 431
    default_message = "Request header fields too large"


class RateLimited(MaitredError):
    status_code = 429
    default_message = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(MaitredError):
    status_code = 503
    default_message = "Temporarily unavailable, retry later"


class PartnerError(MaitredError):
    status_code = 502
    default_message = "Partner error"


class PartnerUnavailable(PartnerError):
    default_message = "Partner unavailable"


class PartnerRejected(PartnerError):
    default_message = "Partner rejected the request"


class SetupError(Exception):
    """A user error in how maitred was started; `message` says what is wrong and where."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
