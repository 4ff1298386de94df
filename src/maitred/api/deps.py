"""Request dependencies: the runtime, the authenticated partner, the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Request

from maitred.errors import Unauthorized
from maitred.partners.service import Caller, PartnerDirectory
from maitred.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The process runtime built by the app's lifespan."""
    return cast(Runtime, request.app.state.runtime)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_partner(request: Request) -> Caller:
    """The partner presenting the request's Bearer key, or 401."""
    directory = cast(PartnerDirectory, request.app.state.partners)
    caller = directory.authenticate(bearer_token(request))
    if caller is None:
        raise Unauthorized()
    request.state.partner_id = caller.partner_id
    return caller


def require_admin(request: Request) -> None:
    """401 unless the request carries the configured admin token."""
    runtime = get_runtime(request)
    expected = runtime.settings.admin_token
    presented = bearer_token(request)
    if not expected or presented is None:
        raise Unauthorized("Admin token missing or admin API disabled")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized("Admin token missing or admin API disabled")


PartnerDep = Annotated[Caller, Depends(authenticate_partner)]
AdminDep = Annotated[None, Depends(require_admin)]
