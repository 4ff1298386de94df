"""The channel simulator: a real HTTP server playing an online-ordering channel on maitred's
channel API (contracts §2.13; decision 12).

Tests and the demo place orders through `/_sim/orders/…`, which it sends to
`{hub}/v1/channel/orders/…` (Bearer `hub_key`, `x-ui-region`) and answers with maitred's answer;
maitred sends it `ORDER_UPDATED`, `STORE_UPDATED` and `MENU_UPDATED` at `/webhooks/rbi` (Bearer
`token`; `x-signature` and Standard Webhooks checked when `signing_secret` is set).
"""

from __future__ import annotations

from aiohttp import web

from maitred.simulators import channel_api, channel_control
from maitred.simulators.channel_sim import CHANNEL_KEY, ChannelConfig, ChannelSim
from maitred.simulators.common import partner_middleware, run_until_cancelled

__all__ = ["CHANNEL_KEY", "ChannelConfig", "ChannelSim", "build_app", "serve"]


def build_app(config: ChannelConfig) -> web.Application:
    """The channel simulator as an aiohttp application (state lives in `app[CHANNEL_KEY]`)."""
    sim = ChannelSim(config)
    app = web.Application(middlewares=[partner_middleware(sim.core)])
    app[CHANNEL_KEY] = sim
    app.cleanup_ctx.append(sim.session_ctx)
    channel_api.add_routes(app)
    channel_control.add_routes(app)
    return app


async def serve(config: ChannelConfig, host: str, port: int) -> None:
    """Run the channel simulator until cancelled."""
    app = build_app(config)
    await run_until_cancelled(app, host, port, app[CHANNEL_KEY].core)
