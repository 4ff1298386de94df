"""The routing generation (migration 0003): which changes move it, and what a cache
keeps when it moves or does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from maitred.db import generations
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from tests.factories import seed_world


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The seeded test database (partners, venues v1 and v2 with their links)."""
    engine = make_throwaway_engine(database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(Fernet.generate_key().decode()))
    yield engine
    engine.dispose()


def _value(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT value FROM generations WHERE name = 'routing'")))


CHANGES = {
    "a venue link": "UPDATE venue_links SET external_id = 'moved' WHERE venue_id = 'v2'",
    "a partner's webhook URL": "UPDATE partners SET webhook_url = 'http://h/x' WHERE id = 'rms-a'",
    "a partner's contract": "UPDATE partners SET contract = 'mozrest' WHERE id = 'rms-a'",
    "a table mapping": (
        "INSERT INTO table_mappings (venue_id, rms_table_id, pos_table_id, state, confidence,"
        " reason, stale, updated_at) VALUES ('v1', 'R1', 'T1', 'confirmed', 1.0, 't', FALSE,"
        " CURRENT_TIMESTAMP)"
    ),
    "an endpoint": (
        "INSERT INTO endpoints (partner_id, name, url, consecutive_failures)"
        " VALUES ('rms-a', 'webhook', 'http://h/x', 0)"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_a_cached_row_moves_the_generation(engine: Engine, change: str) -> None:
    before = _value(engine)
    with engine.begin() as connection:
        connection.execute(text(CHANGES[change]))
    assert _value(engine) != before


def test_what_the_caches_do_not_read_leaves_it_alone(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(CHANGES["an endpoint"]))
    before = _value(engine)
    with engine.begin() as connection:  # every delivery result writes the endpoint's health
        connection.execute(text("UPDATE endpoints SET consecutive_failures = 3"))
        connection.execute(text("UPDATE partners SET name = 'renamed' WHERE id = 'rms-a'"))
        connection.execute(text("UPDATE venues SET name = 'renamed' WHERE id = 'v1'"))
    assert _value(engine) == before


def test_a_rolled_back_change_leaves_it_alone(engine: Engine) -> None:
    before = _value(engine)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text(CHANGES["a venue link"]))
        transaction.rollback()
    assert _value(engine) == before


def test_a_cache_keeps_its_entries_until_the_generation_moves(engine: Engine) -> None:
    loads: list[str] = []

    def load() -> str:
        loads.append("loaded")
        return f"value {len(loads)}"

    def lookup(connection: Connection) -> str:
        return generations.current(connection).get("key", load)

    with engine.begin() as connection:
        assert lookup(connection) == "value 1"
    with engine.begin() as connection:
        assert lookup(connection) == "value 1"  # served from the cache
        connection.execute(text(CHANGES["a table mapping"]))
    with engine.begin() as connection:
        assert lookup(connection) == "value 2"  # the change dropped it
    assert loads == ["loaded", "loaded"]
