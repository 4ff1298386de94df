"""The RBI contract (seed 004, contracts.md §2): the channel API maitred offers ordering channels,
and the POS vendor side it plays toward a POS (price, commit, fire, events, store status).

`CONTRACT` is what maitred knows of it: channel and POS partners, the ports of the channel-order
flow for them, and the routes both call.
"""

from __future__ import annotations

from collections.abc import Sequence

from maitred.connectors.rbi.ports import RbiNotices, RbiOrdering
from maitred.connectors.rbi.presence import RbiStores
from maitred.partners.contracts import Contract


def _routes() -> Sequence[object]:
    from maitred.connectors.rbi import routes, store_routes

    return (
        routes.channel_router,
        routes.pos_router,
        store_routes.pos_stores_router,
        store_routes.channel_stores_router,
    )


CONTRACT = Contract(
    name="rbi",
    kinds=frozenset({"channel", "pos"}),
    routes=_routes,
    ordering=RbiOrdering(),
    notices=RbiNotices(),
    stores=RbiStores(),
)


def install_hooks() -> None:
    """What the delivery engine needs of the contract: `x-signature` beside the Standard
    Webhooks headers on every webhook of the contract (decision 19)."""
    from maitred.connectors.rbi import signature
    from maitred.deliveries import signing

    signing.register("rbi.", lambda body, secret: {signature.HEADER: signature.sign(body, secret)})
