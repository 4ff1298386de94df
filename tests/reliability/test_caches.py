"""The POS path's caches stay correct while traffic flows (docs/decisions/0030).

A POS update no longer looks up which venue a POS venue id is, where the venue's RMS listens or
how its tables translate: it reads them from a cache of its process, valid while the database's
routing generation is unchanged. This test runs two hubs on one database, the test's own
process serving one and a `maitred serve` subprocess the other, with a POS sending updates to
both without pause, and changes each cached thing in the middle of it: a table mapping (written
by another connection, as the worker's table refresh would), the RMS's webhook URL and the
venue's RMS link (through the admin API of the first hub). Every update sent after a change
was committed must produce an event that shows it, in both processes; every accepted update
produces exactly one event.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from maitred.tables.models import TableMapping
from tests.conftest import ADMIN_TOKEN
from tests.factories import POS_KEY, SEED_VENUE, bearer, fixture, seed_world
from tests.reliability.live import serve, serve_process

ORDER = "/v1/pos/pos-venue-1/order"
OLD_URL, NEW_URL = "http://127.0.0.1:9/old-hook", "http://127.0.0.1:9/new-hook"
NEW_RMS_VENUE = "rms-venue-renamed"
PHASE_UPDATES = 5  # accepted by each hub in each phase before the next change


@dataclass
class Traffic:
    """One POS client sending updates of its own order to one hub, one at a time."""

    base_url: str
    name: str
    sent: dict[int, float] = field(default_factory=dict)  # k → wall time the request left
    answered: dict[int, float] = field(default_factory=dict)  # k → wall time of its 200
    accepted: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def body(self, k: int) -> dict[str, Any]:
        body = copy.deepcopy(fixture("pos_order_open.json"))
        body["id"] = f"cache-{self.name}"
        body["tables"] = ["T5"]
        body["checks"] = body["checks"][:1]
        body["checks"][0]["checkNumber"] = f"cache-{self.name}-1"
        body["checks"][0]["totalAmount"] = float(k)
        moment = datetime(2026, 12, 3, 12, tzinfo=UTC) + timedelta(milliseconds=k)
        body["updatedAt"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return body

    def wait(self, since: float) -> None:
        """Until this client had PHASE_UPDATES updates sent after `since` accepted."""
        deadline = time.monotonic() + 60
        while sum(1 for k in self.accepted if self.sent.get(k, 0) > since) < PHASE_UPDATES:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, f"hub {self.name} stopped taking updates"
            time.sleep(0.02)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, headers=bearer(POS_KEY), timeout=30) as client:
            opened = client.post(ORDER, json=self.body(0))
            if opened.status_code != 200:
                self.failures.append(f"create: {opened.status_code} {opened.text}")
                return
            self.accepted.add(0)
            k = 0
            while not self.stop.is_set():
                k += 1
                self.sent[k] = time.time()
                answer = client.put(f"{ORDER}/cache-{self.name}", json=self.body(k))
                if answer.status_code == 200:
                    self.answered[k] = time.time()
                    self.accepted.add(k)
                else:
                    self.failures.append(f"{k}: {answer.status_code} {answer.text[:200]}")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The test's own connection to the hubs' database, seeded: venue v1 with RMS A (webhook
    OLD_URL) and POS pos-1, RMS table R5 mapped to POS table T5."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE partners SET webhook_url = :url WHERE id = 'rms-a'"), {"url": OLD_URL}
        )
        mapping: dict[str, Any] = {"venue_id": "v1", "rms_table_id": "R5", "pos_table_id": "T5"}
        mapping |= {"state": "confirmed", "confidence": 1.0, "reason": "test", "stale": False}
        connection.execute(insert(TableMapping), [mapping | {"updated_at": now()}])
    yield engine
    engine.dispose()


def _events(engine: Engine) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every pos_order delivery by (check number, k), with the URL it was enqueued for."""
    found: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT url, body FROM deliveries WHERE kind = 'rms.pos_order'")
        )
        for url, body in rows:
            event = json.loads(body)
            k = int(event["commercials"]["totalAmount"])
            found.setdefault((event["checkNumber"], k), []).append(event | {"url": url})
    return found


def test_changes_reach_every_process_while_updates_flow(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with serve(settings) as hub_a, serve_process(settings, tmp_path / "hub-b.log") as hub_b:
        clients = [Traffic(hub_a.base_url, "a"), Traffic(hub_b.base_url, "b")]
        threads = [threading.Thread(target=c.run, name=f"pos-{c.name}") for c in clients]
        threads[0].start()
        # The first event registers the RMS's webhook endpoint; two processes doing that at
        # the same moment is a race of its own (noted on decision 30), not what this tests.
        clients[0].wait(0.0)
        threads[1].start()
        changed: dict[str, float] = {}

        def phase(since: float) -> None:
            for client in clients:
                client.wait(since)

        try:
            phase(0.0)  # every cache warm with the old values
            first_change_starts = time.time()
            with engine.begin() as connection:  # another writer, as a table refresh would be
                connection.execute(
                    text("UPDATE table_mappings SET rms_table_id = 'R9' WHERE pos_table_id = 'T5'")
                )
            changed["mapping"] = time.time()
            phase(changed["mapping"])
            partner = {"kind": "rms", "name": "rms-a", "webhookUrl": NEW_URL}
            answer = httpx.put(
                f"{hub_a.base_url}/admin/partners/rms-a", json=partner, headers=admin
            )
            assert answer.status_code == 200, answer.text
            changed["url"] = time.time()
            phase(changed["url"])
            venue = {
                "rms": {"partner": "rms-a", "venueId": NEW_RMS_VENUE},
                "pos": {"partner": "pos-1", "venueId": "pos-venue-1"},
            }
            answer = httpx.put(f"{hub_a.base_url}/admin/venues/v1", json=venue, headers=admin)
            assert answer.status_code == 200, answer.text
            changed["link"] = time.time()
            phase(changed["link"])
        finally:
            for client in clients:
                client.stop.set()
            for thread in threads:
                thread.join(timeout=60)

    events = _events(engine)
    for client in clients:
        assert not client.failures, client.failures
        number = f"cache-{client.name}-1"
        # Nothing lost, nothing doubled: one event per accepted state of the check.
        for k in client.accepted:
            assert len(events.get((number, k), [])) == 1, (client.name, k)
        assert set(k for n, k in events if n == number) == client.accepted
        # Answered before the first change began: applied with the old values. (Judged by the
        # answer, not by when the request left: a fast hub takes its whole warm-up phase in
        # less time than any margin on the send time would leave.)
        before = [k for k, at in client.answered.items() if k > 0 and at < first_change_starts]
        assert before, f"hub {client.name} had nothing answered before the first change"
        for k in before:  # the old values were in use (and so in the caches)
            [event] = events[(number, k)]
            assert (event["tables"], event["venueId"]) == (["R5"], SEED_VENUE)
        counts = dict.fromkeys(changed, 0)
        for k, at in client.sent.items():
            if k not in client.accepted:
                continue
            [event] = events[(number, k)]
            seen = {
                "mapping": event["tables"] == ["R9"],
                "url": event["url"] == NEW_URL,
                "link": event["venueId"] == NEW_RMS_VENUE,
            }
            for what, at_change in changed.items():
                if at >= at_change:
                    counts[what] += 1
                    assert seen[what], (client.name, k, what, event)
        assert all(counts.values()), (client.name, counts)  # updates flowed after each change
