"""Fixtures for the simulators: each runs in-process on aiohttp's test server, and a tiny
stand-in for maitred records what the simulators send it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from maitred.simulators.pos import PosConfig
from maitred.simulators.pos import build_app as build_pos
from maitred.simulators.rms import RmsConfig
from maitred.simulators.rms import build_app as build_rms
from tests.simulators.support import HUB_KEY, POS_TOKEN, RMS_TOKEN, SECRET, Client, FakeHub


@pytest.fixture
async def hub() -> AsyncIterator[FakeHub]:
    """A running fake maitred."""
    fake = FakeHub()
    server = TestServer(fake.app())
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def pos(hub: FakeHub) -> AsyncIterator[Client]:
    """A POS simulator talking to the fake maitred; the client calls it."""
    config = PosConfig(hub=hub.url, hub_key=HUB_KEY, token=POS_TOKEN, quiet=True)
    async with TestClient(TestServer(build_pos(config))) as client:
        yield client


@pytest.fixture
async def rms(hub: FakeHub) -> AsyncIterator[Client]:
    """An RMS simulator (no signing secret) talking to the fake maitred."""
    config = RmsConfig(hub=hub.url, hub_key=HUB_KEY, token=RMS_TOKEN, quiet=True)
    async with TestClient(TestServer(build_rms(config))) as client:
        yield client


@pytest.fixture
async def signed_rms(hub: FakeHub) -> AsyncIterator[Client]:
    """An RMS simulator that verifies Standard Webhooks signatures."""
    config = RmsConfig(
        hub=hub.url, hub_key=HUB_KEY, token=RMS_TOKEN, signing_secret=SECRET, quiet=True
    )
    async with TestClient(TestServer(build_rms(config))) as client:
        yield client
