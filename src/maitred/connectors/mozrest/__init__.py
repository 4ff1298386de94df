"""The Mozrest contract (RMS and POS legs), spelled as the partner spells it.

`CONTRACT` is what maitred knows of it: the partners it serves, the adapters that implement
maitred's ports for them, and the routes its partners call.
"""

from __future__ import annotations

from collections.abc import Sequence

from maitred.connectors.mozrest.adapters import MozrestPos, MozrestRms, ping_body
from maitred.partners.contracts import Contract


def _routes() -> Sequence[object]:
    """`POST /rms` and the POS's order calls first as plain routes (ahead of every FastAPI
    route), then the routers."""
    from maitred.connectors.mozrest import pos_routes, rms_routes

    plain = (*rms_routes.plain_routes(), *pos_routes.plain_routes())
    return (*plain, rms_routes.router, pos_routes.router)


CONTRACT = Contract(
    name="mozrest",
    kinds=frozenset({"pos", "rms"}),
    pos=MozrestPos(),
    rms=MozrestRms(),
    routes=_routes,
    ping=ping_body,
)
