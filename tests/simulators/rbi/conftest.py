"""Fixtures for the RBI simulators: each runs in-process on aiohttp's test server, talking to a
fake maitred that records what they send it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from maitred.simulators.channel import ChannelConfig
from maitred.simulators.channel import build_app as build_channel
from maitred.simulators.rbi_pos import RbiPosConfig
from maitred.simulators.rbi_pos import build_app as build_rbi_pos
from tests.simulators.rbi.support import CHANNEL_TOKEN, HUB_KEY, POS_TOKEN, SECRET, RbiHub
from tests.simulators.support import Client


@pytest.fixture
async def rbi_hub() -> AsyncIterator[RbiHub]:
    """A running fake maitred."""
    fake = RbiHub()
    server = TestServer(fake.app())
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


def pos_config(hub: RbiHub, **changes: Any) -> RbiPosConfig:
    """An RBI POS simulator's settings pointed at the fake maitred."""
    config = RbiPosConfig(hub=hub.url, hub_key=HUB_KEY, token=POS_TOKEN, quiet=True)
    return replace(config, **changes)


@pytest.fixture
async def rbi_pos(rbi_hub: RbiHub) -> AsyncIterator[Client]:
    """An RBI POS simulator (no signing secret, no automatic progress)."""
    async with TestClient(TestServer(build_rbi_pos(pos_config(rbi_hub)))) as client:
        yield client


@pytest.fixture
async def cooking_pos(rbi_hub: RbiHub) -> AsyncIterator[Client]:
    """An RBI POS simulator that reports PREPARED and DONE by itself, quickly."""
    config = pos_config(rbi_hub, prepare_after=0.05)
    async with TestClient(TestServer(build_rbi_pos(config))) as client:
        yield client


@pytest.fixture
async def signed_pos(rbi_hub: RbiHub) -> AsyncIterator[Client]:
    """An RBI POS simulator that checks maitred's x-signature."""
    config = pos_config(rbi_hub, signing_secret=SECRET)
    async with TestClient(TestServer(build_rbi_pos(config))) as client:
        yield client


@pytest.fixture
async def channel(rbi_hub: RbiHub) -> AsyncIterator[Client]:
    """A channel simulator (checks signatures, follows callback URLs)."""
    config = ChannelConfig(
        hub=rbi_hub.url, hub_key=HUB_KEY, token=CHANNEL_TOKEN, signing_secret=SECRET, quiet=True
    )
    async with TestClient(TestServer(build_channel(config))) as client:
        yield client
