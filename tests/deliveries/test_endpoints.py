"""Endpoint registration across processes: two `serve` processes sending a partner's first
delivery at the same moment both register its endpoint, and must agree on one row."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.engine import make_throwaway_engine
from maitred.deliveries import service
from maitred.deliveries.models import Endpoint
from maitred.partners.models import Partner
from maitred.security import hash_key

URL = "http://127.0.0.1:9/hooks"


# PostgreSQL only: on SQLite one process holds the only writer, so two registrations never
# overlap; on PostgreSQL the second waits on the first's uncommitted row.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_processes_registering_one_endpoint_at_once_agree_on_its_id(
    database_url: str,
) -> None:
    engine = make_throwaway_engine(database_url)
    try:
        with Session(engine) as session:
            at = now()
            session.execute(
                insert(Partner).values(
                    id="pos-1",
                    kind="pos",
                    name="pos-1",
                    api_key_hash=hash_key("inbound-pos-1"),
                    token_encrypted="x",
                    webhook_url=URL,
                    signing_secret_encrypted="x",
                    created_at=at,
                    updated_at=at,
                )
            )
            session.commit()
        first, second = Session(engine), Session(engine)
        mine = service.ensure_endpoint(first, partner_id="pos-1", name="webhook", url=URL)
        theirs: list[int] = []
        failed: list[BaseException] = []

        def other_process() -> None:
            try:
                theirs.append(
                    service.ensure_endpoint(second, partner_id="pos-1", name="webhook", url=URL)
                )
                second.commit()
            except BaseException as error:  # reported below, not lost in the thread
                failed.append(error)

        racer = threading.Thread(target=other_process)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive()  # waiting on the first's uncommitted row
        first.commit()
        racer.join(10)
        assert failed == []
        assert theirs == [mine]
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Endpoint)) == 1
        first.close()
        second.close()
    finally:
        engine.dispose()
