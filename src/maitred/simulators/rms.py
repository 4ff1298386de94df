"""The RMS simulator: a real HTTP server playing a reservation system on the Mozrest RMS contract.

maitred calls its partner API (`GET /venue/{venueId}/tables`, `POST /webhooks/pos-order`, Bearer
`token`); tests and the demo make bookings through `/_sim/…`, which the simulator sends to
maitred (`POST {hub}/rms`, Bearer `hub_key`) as a real RMS would.
"""

from __future__ import annotations

from aiohttp import web

from maitred.simulators import rms_api, rms_control
from maitred.simulators.common import partner_middleware, run_until_cancelled
from maitred.simulators.rms_sim import RMS_KEY, RmsConfig, RmsSim

__all__ = ["RMS_KEY", "RmsConfig", "RmsSim", "build_app", "serve"]


def build_app(config: RmsConfig) -> web.Application:
    """The RMS simulator as an aiohttp application (state lives in `app[RMS_KEY]`)."""
    sim = RmsSim(config)
    app = web.Application(middlewares=[partner_middleware(sim.core)])
    app[RMS_KEY] = sim
    app.cleanup_ctx.append(sim.hub.session_ctx)
    rms_api.add_routes(app)
    rms_control.add_routes(app)
    return app


async def serve(config: RmsConfig, host: str, port: int) -> None:
    """Run the RMS simulator until cancelled."""
    app = build_app(config)
    await run_until_cancelled(app, host, port, app[RMS_KEY].core)
