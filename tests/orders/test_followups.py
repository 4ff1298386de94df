"""Booking follow-ups: a stored change is marked in its own transaction and followed after the
commit, once per pending state, without one failure holding up the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import upgrade
from maitred.errors import ServiceUnavailable
from maitred.orders import followups, seating
from maitred.worker.followups import FollowUpLoop
from tests.factories import RMS_KEY, Hub, bearer, fixture, open_hub


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub without a worker: follow-ups run only when a test runs them."""
    with open_hub(settings) as running:
        yield running


def _book(hub: Hub, booking_id: str, **changes: Any) -> None:
    body = fixture("rms_reservation_seated.json") | {"bookingId": booking_id, **changes}
    headers = bearer(RMS_KEY) | {"x-correlation-id": f"corr-{booking_id}"}
    answer = hub.client.post("/rms", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def _pending(hub: Hub) -> dict[str, str | None]:
    return {
        row["booking_id"]: row["followup_correlation_id"]
        for row in hub.rows("reservations")
        if row["followup_pending"]
    }


def _flags(hub: Hub, kind: str) -> list[dict[str, Any]]:
    return [row for row in hub.rows("flags") if row["kind"] == kind]


def test_a_stored_change_is_marked_with_its_correlation_id(hub: Hub) -> None:
    _book(hub, "b-1")

    assert _pending(hub) == {"b-1": "corr-b-1"}
    assert _flags(hub, "booking.held") == []  # nothing followed inside the request


def test_following_applies_the_change_and_clears_the_mark(hub: Hub) -> None:
    _book(hub, "b-1")

    assert hub.follow_up() == 1
    assert _pending(hub) == {}
    [held] = _flags(hub, "booking.held")  # its table has no POS table mapped
    assert held["subject"] == "booking:b-1"
    assert hub.follow_up() == 0


def test_a_resend_of_the_same_state_marks_nothing(hub: Hub) -> None:
    _book(hub, "b-1")
    hub.follow_up()

    _book(hub, "b-1")

    assert _pending(hub) == {}


def test_several_changes_before_their_turn_are_followed_once_in_the_newest_state(
    hub: Hub,
) -> None:
    for party in (2, 3, 4):
        _book(hub, "b-1", partySize=party)

    assert hub.follow_up() == 1
    [reservation] = hub.rows("reservations")
    assert (reservation["party_size"], reservation["version"]) == (4, 3)
    assert len(_flags(hub, "booking.held")) == 1


def test_a_failing_follow_up_is_flagged_and_does_not_hold_up_the_others(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = seating.follow

    def follow(session: Any, reservation: Any, correlation_id: str | None) -> None:
        if reservation.booking_id == "bad":
            raise RuntimeError("boom")
        real(session, reservation, correlation_id)

    monkeypatch.setattr(seating, "follow", follow)
    _book(hub, "bad")
    _book(hub, "good")

    assert hub.follow_up() == 2
    assert _pending(hub) == {}
    [failed] = _flags(hub, followups.FAILED_KIND)
    assert failed["subject"] == "booking:bad"
    assert [f["subject"] for f in _flags(hub, "booking.held")] == ["booking:good"]


def test_the_queue_query_reads_only_pending_rows_through_its_index(tmp_path: Path) -> None:
    # A table of bookings is large and its pending part small: a scan per round would grow
    # with every booking ever stored (SQLite uses a partial index only for the same term).
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    engine = make_throwaway_engine(url)
    query = followups.pending_query(followups.BATCH)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        )
    engine.dispose()
    assert "USING INDEX ix_reservations_followup" in plan
    assert "TEMP B-TREE" not in plan  # no sort either: the index is in due order


async def test_a_round_while_the_database_is_away_logs_one_line_and_waits() -> None:
    """Unit level: the writer reports the database away; the loop warns without a traceback
    (a restart must not flood the log once per poll) and tries again later."""

    class AwayWriter:
        calls = 0

        async def run(self, _job: object) -> int:
            AwayWriter.calls += 1
            raise ServiceUnavailable()

    runtime = SimpleNamespace(writer=AwayWriter(), settings=SimpleNamespace(poll_interval=0.01))
    loop = FollowUpLoop(runtime)  # type: ignore[arg-type]
    with capture_logs() as logs:
        assert await loop._round() == 0
        assert await loop._round() == 0
    assert AwayWriter.calls == 2
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("booking follow-ups postponed: database unavailable", "warning")
    ] * 2
    assert not any("exc_info" in e for e in logs)
