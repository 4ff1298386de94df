"""Reading a venue's orders over the admin API: closed orders stay retrievable until the
retention purge, by maitred's id or the POS's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.orders import retention
from maitred.orders.models import PosOrder
from tests.conftest import ADMIN_TOKEN
from tests.factories import Hub, bearer, open_hub
from tests.orders.test_retention import add_order

ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub on the test database with the small world of partners (venue v1)."""
    with open_hub(settings) as running:
        yield running


def _seed(hub: Hub) -> dict[str, str]:
    """Venue v1's orders: closed 50 and 61 days ago, and an open one; their ids and POS ids."""
    with Session(hub.engine) as session, session.begin():
        ids = {
            "closed_50": add_order(
                session, status="closed", opened_days_ago=50, settled_days_ago=50, venue="v1"
            ),
            "closed_61": add_order(
                session, status="closed", opened_days_ago=61, settled_days_ago=61, venue="v1"
            ),
            "open": add_order(session, status="open", opened_days_ago=0, venue="v1"),
        }
    with Session(hub.engine) as session:
        pos_ids = {name: session.get(PosOrder, order_id) for name, order_id in ids.items()}
        return {
            f"{name}.pos": order.pos_order_id or "" for name, order in pos_ids.items() if order
        } | ids


def test_closed_orders_are_listed_with_their_checks(hub: Hub) -> None:
    ids = _seed(hub)

    page = hub.client.get("/admin/venues/v1/orders?status=closed", headers=ADMIN)

    assert page.status_code == 200, page.text
    listed = {order["id"]: order for order in page.json()["items"]}
    assert set(listed) == {ids["closed_50"], ids["closed_61"]}
    assert all(len(order["checks"]) == 1 for order in listed.values())
    assert listed[ids["closed_50"]]["checks"][0]["status"] == "closed"


def test_an_order_is_found_by_either_id_until_it_is_purged(hub: Hub) -> None:
    ids = _seed(hub)
    by_pos_id = hub.client.get(f"/admin/venues/v1/orders/{ids['closed_61.pos']}", headers=ADMIN)
    assert by_pos_id.status_code == 200
    assert by_pos_id.json()["id"] == ids["closed_61"]

    with Session(hub.engine) as session, session.begin():
        retention.purge(session, older_than=retention.cutoff(hub.settings))

    gone = hub.client.get(f"/admin/venues/v1/orders/{ids['closed_61']}", headers=ADMIN)
    kept = hub.client.get(f"/admin/venues/v1/orders/{ids['closed_50']}", headers=ADMIN)
    assert gone.status_code == 404
    assert "orderId" in gone.json()["error"]["details"]
    assert kept.status_code == 200  # inside the 45-day promise and the 60-day default


def test_unknown_venue_and_missing_token(hub: Hub) -> None:
    assert hub.client.get("/admin/venues/nowhere/orders", headers=ADMIN).status_code == 404
    assert hub.client.get("/admin/venues/v1/orders").status_code == 401
    refused = hub.client.get("/admin/venues/v1/orders?status=paid", headers=ADMIN)
    assert refused.status_code == 400
    assert "status" in str(refused.json()["error"]["details"])


def test_changed_since_a_time_without_a_utc_form_is_a_400(hub: Hub) -> None:
    """Year 1 at +01:00 is year 0 in UTC: a 400 naming the filter, not a 500 from binding it."""
    for since in ("0001-01-01T00:00:01+01:00", "9999-12-31T23:00:00-05:00"):
        answer = hub.client.get(
            "/admin/venues/v1/orders", params={"changed_since": since}, headers=ADMIN
        )
        assert answer.status_code == 400, (since, answer.text)
        assert "changed_since" in answer.json()["error"]["details"]
