"""The capability report: evidence recorded on state changes only, unknown until shown, reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from maitred.capabilities import service as capabilities
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.errors import BadRequest, NotFound
from maitred.security import SecretBox
from tests.factories import seed_world


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The test database with the small world of partners (venue v1: rms-a + pos-1)."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    yield engine
    engine.dispose()


def _record(session: Session, feature: str, *, supported: bool, reason: str = "HTTP 405") -> bool:
    return capabilities.record(
        session,
        venue_id="v1",
        partner_id="pos-1",
        feature=feature,
        supported=supported,
        reason=reason,
    )


def _states(session: Session) -> dict[tuple[str, str], str]:
    report = capabilities.report(session, "v1")
    return {(item.partner_id, item.feature): item.state for item in report.capabilities}


def test_every_feature_is_unknown_until_a_call_shows_it(engine: Engine) -> None:
    with Session(engine) as session:
        states = _states(session)
    assert states == {
        ("pos-1", "tables.list"): "unknown",
        ("pos-1", "orders.create"): "unknown",
        ("pos-1", "orders.update"): "unknown",
        ("pos-1", "orders.list"): "unknown",
        ("pos-1", "orders.get"): "unknown",
        ("rms-a", "tables.list"): "unknown",
    }


def test_only_a_change_of_state_is_written(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        assert _record(session, "orders.update", supported=False, reason="HTTP 405 to PUT x")
        assert not _record(session, "orders.update", supported=False, reason="HTTP 404 to PUT y")
    with Session(engine) as session:
        [item] = [
            i for i in capabilities.report(session, "v1").capabilities if i.state == "missing"
        ]
        assert (item.feature, item.reason) == ("orders.update", "HTTP 405 to PUT x")
        assert capabilities.is_missing(
            session, venue_id="v1", partner_id="pos-1", feature="orders.update"
        )
    with Session(engine) as session, session.begin():
        assert _record(session, "orders.update", supported=True, reason="HTTP 200 to PUT z")
    with Session(engine) as session:
        assert _states(session)[("pos-1", "orders.update")] == "supported"
        assert capabilities.report(session, "v1").missing == 0


def test_reset_forgets_one_feature_or_all(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        _record(session, "orders.update", supported=False)
        _record(session, "orders.get", supported=False)
        _record(session, "orders.list", supported=True)
    with Session(engine) as session, session.begin():
        assert capabilities.reset(session, venue_id="v1", feature="orders.get") == 1
    with Session(engine) as session:
        states = _states(session)
        assert states[("pos-1", "orders.get")] == "unknown"
        assert states[("pos-1", "orders.update")] == "missing"
    with Session(engine) as session, session.begin():
        assert capabilities.reset(session, venue_id="v1") == 2
    with Session(engine) as session:
        assert set(_states(session).values()) == {"unknown"}


def test_an_unknown_feature_or_venue_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(BadRequest) as refused:
            capabilities.reset(session, venue_id="v1", feature="orders.teleport")
        assert "feature" in refused.value.details
        with pytest.raises(NotFound):
            capabilities.reset(session, venue_id="nowhere")
        with pytest.raises(NotFound):
            capabilities.report(session, "nowhere")
