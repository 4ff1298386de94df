"""Rows inserted directly for tests (partners, venues, links), and a hub on the test database
with a small world of partners already in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from maitred.api import errors
from maitred.api.app import create_app
from maitred.clock import now
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.security import SecretBox, hash_key
from maitred.venues.models import Venue, VenueLink
from maitred.web.ratelimit import RateLimits

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "spec" / "fixtures"

RMS_KEY = "rms-a-key-4f0c9e1d2b7a"
OTHER_RMS_KEY = "rms-b-key-8a1b2c3d4e5f"
POS_KEY = "pos-1-key-6e5d4c3b2a19"
RMS_TOKEN = "rms-a-outbound-token-77aa"
SECRETS = (RMS_KEY, OTHER_RMS_KEY, POS_KEY, RMS_TOKEN)
SEED_VENUE = "60e890aca5f07b6ee5b950b1"  # the fixtures' venueId
OTHER_VENUE = "rms-b-venue-1"


def fixture(name: str) -> dict[str, Any]:
    """A contract fixture from shared/spec/fixtures, verbatim."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def make_partner(
    session: Session,
    box: SecretBox,
    *,
    id: str,
    kind: str,
    api_key: str,
    token: str | None = None,
    webhook_url: str | None = None,
    base_url: str | None = None,
) -> Partner:
    """A partner whose inbound key is `api_key` (stored hashed)."""
    at = now()
    partner = Partner(
        id=id,
        kind=kind,
        name=id,
        api_key_hash=hash_key(api_key),
        base_url=base_url,
        token_encrypted=box.encrypt(token),
        webhook_url=webhook_url,
        created_at=at,
        updated_at=at,
    )
    session.add(partner)
    session.flush()
    return partner


def make_venue(
    session: Session, *, id: str, timezone: str = "UTC", links: dict[str, str] | None = None
) -> Venue:
    """A venue, linked to each partner in `links` ({partner_id: that partner's venue id})."""
    at = now()
    venue = Venue(id=id, name=id, timezone=timezone, created_at=at, updated_at=at)
    session.add(venue)
    session.flush()
    for partner_id, external_id in (links or {}).items():
        partner = session.get(Partner, partner_id)
        assert partner is not None, partner_id
        link = VenueLink(
            venue_id=id, partner_id=partner_id, role=partner.kind, external_id=external_id
        )
        session.add(link)
    session.flush()
    return venue


def seed_world(session: Session, box: SecretBox) -> None:
    """Two RMS partners and a POS; venue v1 (RMS A + POS), venue v2 (RMS B)."""
    make_partner(session, box, id="rms-a", kind="rms", api_key=RMS_KEY, token=RMS_TOKEN)
    make_partner(session, box, id="rms-b", kind="rms", api_key=OTHER_RMS_KEY)
    make_partner(session, box, id="pos-1", kind="pos", api_key=POS_KEY)
    make_venue(session, id="v1", links={"rms-a": SEED_VENUE, "pos-1": "pos-venue-1"})
    make_venue(session, id="v2", links={"rms-b": OTHER_VENUE})


@dataclass
class Hub:
    """A running app (lifespan entered) and an engine to look at its database."""

    client: TestClient
    engine: Engine
    settings: Settings
    running: bool = True

    def stop(self) -> None:
        """Run the app's shutdown (which writes the buffered traces); idempotent."""
        if self.running:
            self.running = False
            self.client.__exit__(None, None, None)

    def follow_up(self) -> int:
        """Apply the pending booking follow-ups, as the worker would (this hub runs none),
        through the app's own writer: a second writer would contend for SQLite's lock."""
        from maitred.orders import followups

        runtime: Runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        followed = 0
        while taken := runtime.writer.run_sync(followups.apply_pending):  # rounds have a budget
            followed += taken
        return followed

    def count(self, table: str) -> int:
        """Rows in `table`."""
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(text(table))) or 0)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of `table`, as dicts."""
        with self.engine.connect() as connection:
            result = connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            return [dict(row._mapping) for row in result]


@contextmanager
def open_hub(settings: Settings) -> Iterator[Hub]:
    """Seed the world and start the app; `hub.stop()` shuts it down (flushing buffered traces),
    so a test reads `traces` after calling it."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    client = TestClient(create_app(settings))
    client.__enter__()
    hub = Hub(client=client, engine=engine, settings=settings)
    try:
        yield hub
    finally:
        hub.stop()
        engine.dispose()


def bearer(key: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {key}"}


def router_app(runtime: Runtime, router: APIRouter) -> FastAPI:
    """An app serving one router on `runtime`, with the state the lifespan would give it."""
    app = FastAPI()
    errors.install(app)
    app.include_router(router)
    app.state.runtime = runtime
    app.state.limits = RateLimits.from_settings(runtime.settings)
    return app
