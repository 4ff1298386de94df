"""The docs' examples run as written: README's setup (the simulators, `partners.example.toml`,
`maitred serve --config`), its first booking, docs/operators.md's session, and the partner
guides' payloads, each read from its markdown file, each checked for its documented effect.

They run in a fresh directory on the README's default database (a SQLite file), with the
documented ports (8000, 9101, 9102) moved to free ones so nothing else on the machine can be in
the way; `test_the_documented_defaults_are_the_real_ones` checks those ports, tokens and venue
ids against the simulators' and the hub's own defaults.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maitred.apply.service import load_file
from maitred.config import Settings
from maitred.demo.stack import call, wait_for
from maitred.simulators import cli as simulators
from tests.e2e.docs import EXAMPLE, HUB, POS, RMS, Block, Newcomer, blocks, exports

pytestmark = pytest.mark.e2e

VENUE = "trattoria"
RMS_012 = "9366917a-7fa6-5d9f-b6f9-468672519fc4"  # the RMS simulator's table 012 (uuid5 id)


def _default(command: Any, option: str) -> Any:
    return inspect.signature(command).parameters[option].default


def test_the_documented_defaults_are_the_real_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    values = str(Block("example", "", "toml", EXAMPLE.read_text(encoding="utf-8")).toml())
    env = exports(blocks("README")["setup"].text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    document = load_file(EXAMPLE)  # every ${VAR} set by the README's exports, keys long enough
    partners = {p.id: p for p in document.partners}
    (venue,) = document.venues

    assert set(re.findall(r"\$\{(\w+)\}", values)) <= set(env)
    assert f":{_default(simulators.pos, 'port')}" in (partners["acme-pos"].base_url or "")
    assert f":{_default(simulators.rms, 'port')}" in (partners["acme-rms"].base_url or "")
    assert Settings().port == HUB
    assert (_default(simulators.pos, "port"), _default(simulators.rms, "port")) == (POS, RMS)
    for command in (simulators.pos, simulators.rms):
        assert _default(command, "hub") == f"http://127.0.0.1:{HUB}"
    assert partners["acme-pos"].token == _default(simulators.pos, "token")
    assert partners["acme-rms"].token == _default(simulators.rms, "token")
    assert venue.pos is not None
    assert venue.rms is not None
    assert venue.pos.venue_id == _default(simulators.pos, "venue")
    assert venue.rms.venue_id == _default(simulators.rms, "venue")


def test_the_toml_shown_in_the_docs_is_partners_example_toml() -> None:
    shown = [blocks("README")["config"], blocks("operators")["config"]]
    example = Block("partners.example.toml", "", "toml", EXAMPLE.read_text(encoding="utf-8"))

    assert all(block.toml() == example.toml() for block in shown)


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newcomer]:
    """README's setup block, run in a fresh directory: both simulators and the hub."""
    running = Newcomer.create(Path(tmp_path_factory.mktemp("newcomer")))
    try:
        running.start(blocks("README")["setup"])
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tried(newcomer: Newcomer) -> Newcomer:
    """The README's first steps run (its booking, a ping): what the other docs start from."""
    newcomer.run(blocks("README")["try"])
    return newcomer


def _pos_orders(newcomer: Newcomer) -> list[dict[str, Any]]:
    return list(call("GET", newcomer.url(POS) + "/_sim/state")[1]["orders"])


def _open_on(newcomer: Newcomer, table: str) -> dict[str, Any]:
    order: dict[str, Any] = wait_for(
        f"an open POS order on {table}",
        lambda: next(
            (o for o in _pos_orders(newcomer) if table in o["tables"] and o["status"] == "open"),
            None,
        ),
    )
    return order


def _rms_events(newcomer: Newcomer) -> list[dict[str, Any]]:
    return [e["body"] for e in call("GET", newcomer.url(RMS) + "/_sim/events")[1]]


def _event(newcomer: Newcomer, **fields: Any) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        f"an RMS event with {fields}",
        lambda: next(
            (
                e
                for e in _rms_events(newcomer)
                if isinstance(e, dict) and all(e.get(k) == v for k, v in fields.items())
            ),
            None,
        ),
    )
    return found


def _delivered(newcomer: Newcomer, kind: str) -> bool:
    rows = newcomer.rows("SELECT state FROM deliveries WHERE kind = ?", kind)
    return bool(rows) and all(state == "delivered" for (state,) in rows)


def test_the_readme_first_booking_opens_its_pos_order_with_no_manual_step(
    tried: Newcomer,
) -> None:
    newcomer = tried
    order = _open_on(newcomer, "T3")
    check = order["checks"][0]["checkNumber"]
    event = _event(newcomer, type="create", checkNumber=check)
    assert (event["bookingId"], event["venueId"]) == ("first-1", "rms-venue-1")
    wait_for("the ping delivered", lambda: _delivered(newcomer, "webhook.ping"))
    assert _event(newcomer, type="ping")["partnerId"] == "acme-rms"
    assert newcomer.rows("SELECT kind FROM flags WHERE resolved_at IS NULL") == []


def test_the_operators_session_does_what_its_comments_say(tried: Newcomer) -> None:
    newcomer, operators = tried, blocks("operators")
    _covers_every_task(operators["session"])
    pings = _count(newcomer, "webhook.ping")

    newcomer.run(operators["session"])

    held = _open_on(newcomer, "T2")
    assert held["partySize"] == 4
    assert _open_on(newcomer, "T4")["checks"][0]["items"] == []  # opened without the item
    flags = {
        kind: (resolved_by, acknowledged)
        for kind, resolved_by, acknowledged in newcomer.rows(
            "SELECT kind, resolved_by, acknowledged_at IS NOT NULL FROM flags"
            " WHERE subject IN ('booking:held-1') OR kind = 'order.sku_rejected'"
        )
    }
    assert flags == {
        "booking.held": ("booking went through", 1),
        "order.sku_rejected": ("operator: rung up by hand", 0),
    }
    assert _count(newcomer, "webhook.ping") == pings + 1
    wait_for("the session's ping delivered", lambda: _delivered(newcomer, "webhook.ping"))


def _count(newcomer: Newcomer, kind: str) -> int:
    return int(newcomer.rows("SELECT COUNT(*) FROM deliveries WHERE kind = ?", kind)[0][0])


def _covers_every_task(session: Block) -> None:
    """Every CLI command of the operators' task tables (`| task | CLI | admin API |`) is run by
    the session: a task added to a table without its run here fails."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "operators.md").read_text()
    commands, in_tasks = set(), False
    for line in text.splitlines():
        if line.startswith("| task | CLI |"):
            in_tasks = True
        elif not line.startswith("|"):
            in_tasks = False
        elif in_tasks:
            commands |= set(re.findall(r"`(maitred [a-z]+(?: [a-z]+)?)", line))
    missing = sorted(c for c in commands if c not in session.text)
    assert commands, "no task table found in docs/operators.md"
    assert not missing, f"docs/operators.md lists commands its session does not run: {missing}"


def _post(newcomer: Newcomer, path: str, body: Any, key: str) -> tuple[int, Any]:
    return call("POST", newcomer.url(HUB) + path, body, newcomer.env[key])


def test_the_rms_guide_payloads(newcomer: Newcomer) -> None:
    rms, readme = blocks("rms"), blocks("README")
    booking = rms["rms-booking"].json()

    answer = _post(newcomer, "/rms", booking, "ACME_RMS_KEY")
    again = _post(newcomer, "/rms", booking, "ACME_RMS_KEY")
    refused = _post(
        newcomer, "/rms", booking | {"items": [{"sku": "PIZZA-001", "quantity": 0}]}, "ACME_RMS_KEY"
    )
    not_a_number = _post(newcomer, "/rms", booking | {"partySize": "4"}, "ACME_RMS_KEY")

    assert answer == (200, rms["rms-accepted"].json())
    assert again == (200, rms["rms-accepted"].json() | {"duplicate": True})
    assert refused == (400, rms["rms-error"].json())
    assert not_a_number == (400, readme["readme-error"].json())
    tables = rms["rms-pos-tables"].json()
    status, listed = call(
        "GET",
        f"{newcomer.url(HUB)}/venues/{tables['venueId']}/pos-tables",
        token=newcomer.env["ACME_RMS_KEY"],
    )
    assert status == 200
    assert listed["venueId"] == tables["venueId"]
    assert all(table in listed["tables"] for table in tables["tables"])
    assert tables["count"] == len(tables["tables"])
    assert listed["count"] == len(listed["tables"]) == 12


def test_the_booking_of_the_rms_guide_reaches_the_pos_and_comes_back(newcomer: Newcomer) -> None:
    rms, pos = blocks("rms"), blocks("pos")
    booking = rms["rms-booking"].json()
    _post(newcomer, "/rms", booking, "ACME_RMS_KEY")  # stored once, whatever ran before

    created = wait_for(
        "the create-order call of the RMS guide's booking",
        lambda: next(
            (
                c["body"]
                for c in call("GET", newcomer.url(POS) + "/_sim/calls")[1]
                if c["method"] == "POST" and (c["body"] or {}).get("guestName") == "John Doe"
            ),
            None,
        ),
    )
    example = pos["pos-create"].json()
    assert {k: v for k, v in created.items() if k != "id"} == {
        k: v for k, v in example.items() if k != "id"
    }
    event = _event(newcomer, type="create", bookingId=booking["bookingId"])
    documented = rms["rms-event"].json()
    assert set(event) == set(documented)
    varying = {"checkNumber", "openedAt", "updatedAt"}  # the POS's number, and times
    assert {k: v for k, v in event.items() if k not in varying} == {
        k: v for k, v in documented.items() if k not in varying
    }
    assert all(isinstance(event[k], type(documented[k])) for k in varying)


def test_the_pos_guide_payloads(newcomer: Newcomer) -> None:
    pos = blocks("pos")
    walk_in = pos["pos-order"].json()
    blank = walk_in | {"checks": [walk_in["checks"][0] | {"checkNumber": " "}]}

    status, answer = _post(newcomer, "/v1/pos/pos-venue-1/order", walk_in, "ACME_POS_KEY")
    refused = _post(newcomer, "/v1/pos/pos-venue-1/order", blank, "ACME_POS_KEY")

    assert status == 200
    assert answer["status"] == "open"
    assert refused == (400, pos["pos-error"].json())
    event = _event(newcomer, type="create", checkNumber=walk_in["checks"][0]["checkNumber"])
    assert event["tables"] == [RMS_012]  # the POS's T12, in the RMS's ids
    assert event["bookingId"] is None  # a walk-in


def test_the_ping_of_the_webhooks_guide(tried: Newcomer) -> None:
    newcomer = tried
    documented = blocks("webhooks")["ping"].json()

    received = _event(newcomer, type="ping")

    assert set(received) == set(documented)
    assert received["partnerId"] == documented["partnerId"]
