"""`maitred.db.notify`: a notification sent in a transaction reaches the listener once it
commits, never when it rolls back; the listener reconnects after losing its connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from maitred.db.engine import make_throwaway_engine
from maitred.db.notify import Listener, notify_sql
from tests.conftest import PG_BASE
from tests.deliveries.helpers import wait_until


@pytest.fixture
async def listening() -> AsyncIterator[tuple[Listener, str, list[str]]]:
    channel = "maitred_test_" + uuid.uuid4().hex[:8]
    got: list[str] = []
    listener = Listener()
    listener.add(channel, got.append)
    await listener.start(PG_BASE)
    await wait_until(lambda: listener.connected, timeout=10, what="listener connected")
    yield listener, channel, got
    await listener.stop()


def _send(channel: str, payload: str, *, commit: bool) -> None:
    engine = make_throwaway_engine(PG_BASE)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            statement, params = notify_sql(channel, payload)
            connection.execute(statement, params)
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
    finally:
        engine.dispose()


async def test_a_notification_arrives_once_its_transaction_commits(
    listening: tuple[Listener, str, list[str]],
) -> None:
    _listener, channel, got = listening
    await asyncio.to_thread(_send, channel, "rolled-back", commit=False)
    await asyncio.to_thread(_send, channel, "order-1", commit=True)
    await wait_until(lambda: got == ["order-1"], timeout=10, what="the committed notification")
    await asyncio.sleep(0.2)
    assert got == ["order-1"]  # the rolled-back one never came


async def test_the_listener_reconnects_after_losing_its_connection(
    listening: tuple[Listener, str, list[str]],
) -> None:
    listener, channel, got = listening
    engine = make_throwaway_engine(PG_BASE)
    with engine.begin() as connection:  # kill every LISTEN connection on the channel
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE :listen AND pid <> pg_backend_pid()"
            ),
            {"listen": f'LISTEN "{channel}"%'},
        )
    engine.dispose()
    await wait_until(lambda: not listener.connected, timeout=10, what="disconnected")
    await wait_until(lambda: listener.connected, timeout=10, what="reconnected")
    await asyncio.to_thread(_send, channel, "after", commit=True)
    await wait_until(lambda: got == ["after"], timeout=10, what="a notification after")
