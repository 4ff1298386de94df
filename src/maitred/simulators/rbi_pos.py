"""The RBI POS simulator: a real HTTP server playing a point of sale on the RBI contract's vendor
side (seed 004; contracts §2.5-2.9).

maitred sends it webhooks (`/webhooks/price-order`, `commit-order`, `fire-order`, `order-event`,
`store-heartbeat`; Bearer `token`, `x-signature` checked when `signing_secret` is set); it prices
from its menu, answers on each webhook's `callbackUrl` (after a delay, with an error, or never, as
its faults say), and reports progress (`{hub}/v1/orders/{orderId}/events`) and store status
(`{hub}/v1/stores/{storeId}/store-status-changed`) with Bearer `hub_key`. Tests and the demo
drive it through `/_sim/…`.
"""

from __future__ import annotations

from aiohttp import web

from maitred.simulators import rbi_pos_api, rbi_pos_control
from maitred.simulators.common import partner_middleware, run_until_cancelled
from maitred.simulators.rbi_pos_sim import RBI_POS_KEY, RbiPosConfig, RbiPosSim

__all__ = ["RBI_POS_KEY", "RbiPosConfig", "RbiPosSim", "build_app", "serve"]


def build_app(config: RbiPosConfig) -> web.Application:
    """The RBI POS simulator as an aiohttp application (state lives in `app[RBI_POS_KEY]`)."""
    sim = RbiPosSim(config)
    app = web.Application(middlewares=[partner_middleware(sim.core)])
    app[RBI_POS_KEY] = sim
    app.cleanup_ctx.append(sim.hub.session_ctx)
    app.on_shutdown.append(sim.stop)
    rbi_pos_api.add_routes(app)
    rbi_pos_control.add_routes(app)
    return app


async def serve(config: RbiPosConfig, host: str, port: int) -> None:
    """Run the RBI POS simulator until cancelled."""
    app = build_app(config)
    await run_until_cancelled(app, host, port, app[RBI_POS_KEY].core)
