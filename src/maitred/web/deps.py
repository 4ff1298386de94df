"""Request dependencies: the runtime, the authenticated partner, the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Request

from maitred.errors import Unauthorized
from maitred.partners.service import Caller, PartnerDirectory
from maitred.runtime import Runtime
from maitred.web.ratelimit import RateLimits


def get_runtime(request: Request) -> Runtime:
    """The process runtime built by the app's lifespan."""
    return cast(Runtime, request.app.state.runtime)


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


# Every dependency is `async`: FastAPI runs a plain `def` dependency in its thread pool, a hop
# that cost a POS update more CPU than the check it guards.
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def rate_limits(request: Request) -> RateLimits:
    """The app's rate limits (built in the lifespan, beside the partner directory)."""
    return cast(RateLimits, request.app.state.limits)


def client_address(request: Request) -> str:
    """The peer's address (a proxy's, unless MAITRED_FORWARDED_ALLOW_IPS names that proxy)."""
    return request.client.host if request.client is not None else "unknown"


def _refuse(request: Request, message: str | None = None) -> Unauthorized:
    """Count a failed authentication from the request's address: 429 once that address has
    failed too often, else the 401 to raise. Only failures are limited, so a valid key or the
    admin token always gets in, whoever shares the address (docs/decisions/0009)."""
    limits = rate_limits(request)
    address = client_address(request)
    limits.check_address(address)
    limits.failed(address)
    return Unauthorized(message)


def authenticate_partner(request: Request) -> Caller:
    """The partner presenting the request's Bearer key, or 401; 429 over the partner's rate
    limit, or for a wrong key from an address that failed to authenticate too often."""
    directory = cast(PartnerDirectory, request.app.state.partners)
    caller = directory.authenticate(bearer_token(request))
    if caller is None:
        raise _refuse(request)
    rate_limits(request).admit(caller.partner_id)
    request.state.partner_id = caller.partner_id
    return caller


async def require_admin(request: Request) -> None:
    """401 unless the request carries the configured admin token (429 for a wrong one from an
    address that failed too often)."""
    expected = get_runtime(request).settings.admin_token
    presented = bearer_token(request)
    if (
        not expected
        or presented is None
        or not hmac.compare_digest(presented.encode(), expected.encode())
    ):
        raise _refuse(request, "Admin token missing or admin API disabled")


async def _partner(request: Request) -> Caller:
    return authenticate_partner(request)


PartnerDep = Annotated[Caller, Depends(_partner)]
AdminDep = Annotated[None, Depends(require_admin)]
