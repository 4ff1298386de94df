"""The POS simulator: a real HTTP server playing a point of sale on the Mozrest POS contract.

maitred calls its partner API (`/venue/{venueId}/…`, Bearer `token`); tests and the demo drive
the floor through `/_sim/…`, and the simulator notifies maitred (`{hub}/v1/pos/…`, Bearer
`hub_key`) as a real POS would.
"""

from __future__ import annotations

from aiohttp import web

from maitred.simulators import pos_api, pos_control
from maitred.simulators.common import partner_middleware, run_until_cancelled
from maitred.simulators.pos_sim import POS_KEY, PosConfig, PosSim

__all__ = ["POS_KEY", "PosConfig", "PosSim", "build_app", "serve"]


def build_app(config: PosConfig) -> web.Application:
    """The POS simulator as an aiohttp application (state lives in `app[POS_KEY]`)."""
    sim = PosSim(config)
    app = web.Application(middlewares=[partner_middleware(sim.core)])
    app[POS_KEY] = sim
    app.cleanup_ctx.append(sim.hub.session_ctx)
    pos_api.add_routes(app)
    pos_control.add_routes(app)
    return app


async def serve(config: PosConfig, host: str, port: int) -> None:
    """Run the POS simulator until cancelled."""
    app = build_app(config)
    await run_until_cancelled(app, host, port, app[POS_KEY].core)
