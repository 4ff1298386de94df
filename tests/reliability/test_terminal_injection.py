"""Attack: partner text aimed at the operator's terminal (issue 10 point 4).

A POS names its order `mk[/bold]x` (Rich markup) or puts `ESC[2J` (clear screen) in an id, a
table name, an error body. Every command walks over such data and such ids: none may fail on
markup, and none may send a control character to the terminal; the text is shown as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import insert, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from maitred.capabilities.models import Capability
from maitred.cli import app
from maitred.clock import now
from maitred.config import Settings, get_settings
from maitred.deliveries import service as deliveries
from maitred.deliveries.models import Delivery, DeliveryAttempt, Endpoint
from maitred.flags.models import Flag
from maitred.tables.models import PosTableRecord, RmsTableRecord, TableMapping
from tests.factories import POS_KEY, Hub, bearer, open_hub

MARKUP = "mk[/bold]x"
ESCAPE = "esc\x1b[2Jz"
HOSTILE = f"{MARKUP}{ESCAPE}[red]\u202e\x07"
SHOWN = "mk[/bold]xesc\\x1b[2Jz[red]\\u202e\\x07"  # how an operator must see it
# Commands that run a server or a service rather than print stored data.
# Commands that run until stopped (servers, simulators, the demo) or print no partner text.
NOT_WALKED = {"serve", "worker", "demo", "db upgrade", "version"}


def _commands(group: Any = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf command of the CLI, with its path (`orders show`)."""
    group = group if group is not None else typer.main.get_command(app)
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def _seed(hub: Hub, tmp_path: Path) -> dict[str, str]:
    """Hostile text in every place a partner can put it; the ids a command should name."""
    order = {
        "id": HOSTILE,
        "status": "open",
        "tables": [HOSTILE],
        "partySize": 2,
        "checks": [
            {
                "checkNumber": HOSTILE,
                "totalAmount": 10,
                "items": [{"id": 1, "name": HOSTILE, "price": 10, "quantity": 1}],
            }
        ],
    }
    answer = hub.client.post("/v1/pos/pos-venue-1/order", json=order, headers=bearer(POS_KEY))
    assert answer.status_code in (200, 201), answer.text
    with Session(hub.engine) as session, session.begin():
        _seed_rows(session)
    config = tmp_path / "hostile.toml"
    config.write_text(f'[[partners]]\nid = "pos-1"\nkind = "pos"\nname = "{MARKUP}"\n')
    return {"venue": "v1", "order": HOSTILE, "partner": "pos-1", "path": str(config)}


def _seed_rows(session: Session) -> None:
    at = now()
    for model in (RmsTableRecord, PosTableRecord):
        session.execute(
            insert(model).values(
                venue_id="v1", external_id=HOSTILE, name=HOSTILE, area=HOSTILE,
                present=True, first_seen_at=at, last_seen_at=at,
            )
        )  # fmt: skip
    session.execute(
        insert(TableMapping).values(
            venue_id="v1", rms_table_id=HOSTILE, pos_table_id=HOSTILE, state="suggested",
            confidence=0.5, reason=HOSTILE, stale=False, updated_at=at,
        )
    )  # fmt: skip
    session.execute(
        insert(Capability).values(
            venue_id="v1", partner_id="pos-1", feature="orders.update", state="missing",
            reason=HOSTILE, detected_at=at,
        )
    )  # fmt: skip
    session.execute(
        insert(Flag).values(
            venue_id="v1", kind="order.sku_rejected", subject=HOSTILE, message=HOSTILE,
            data={"sku": HOSTILE}, created_at=at,
        )
    )  # fmt: skip
    endpoint = deliveries.ensure_endpoint(
        session, partner_id="pos-1", name="webhook", url="http://127.0.0.1:9/x"
    )
    delivery_id = deliveries.enqueue(
        session, endpoint_id=endpoint, partner_id="pos-1", kind=HOSTILE,
        url="http://127.0.0.1:9/x", body={"note": HOSTILE}, correlation_id="c-1",
    )  # fmt: skip
    session.execute(update(Delivery).values(state="failed", last_error=HOSTILE))
    session.execute(update(Endpoint).values(last_error=HOSTILE))
    session.execute(
        insert(DeliveryAttempt).values(
            delivery_id=delivery_id, number=1, worker_id="w", started_at=at, duration_ms=1.0,
            status_code=500, error_class="http_500", response_body=HOSTILE,
        )
    )  # fmt: skip


def _argv(path: str, command: Any, ids: dict[str, str]) -> list[str]:
    """The command with an argument for each of its parameters: the seeded ids where the
    parameter names one (so stored hostile text is printed), hostile text elsewhere."""
    values = {
        "venue": ids["venue"], "venue_id": ids["venue"], "order": ids["order"],
        "partner_id": ids["partner"], "path": ids["path"], "rms_table": HOSTILE,
        "pos_table": HOSTILE, "delivery_id": "1", "endpoint_id": "1",
    }  # fmt: skip
    argv = path.split()
    for param in command.params:
        if param.param_type_name != "argument":
            continue
        is_int = param.type_descriptor.annotation is int
        argv.append(values.get(param.name, "1" if is_int else HOSTILE))
    return argv


def _order(path: str) -> tuple[bool, str]:
    # Reads first, so deletions do not hide what the others would print.
    return (path.endswith(("delete", "unmap")), path)


@pytest.fixture
def cli_hub(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """A hub with the seeded world, and the CLI's environment pointing at its database."""
    for name in ("database_url", "secret_key", "data_dir", "allow_loopback"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    with open_hub(settings) as hub:
        yield hub
    get_settings.cache_clear()


@pytest.mark.parametrize("backend", ["sqlite"])  # printing does not depend on the database
def test_every_command_prints_partner_text_as_text(
    cli_hub: Hub, tmp_path: Path, figure: Any
) -> None:
    ids = _seed(cli_hub, tmp_path)
    runner = CliRunner(env={"COLUMNS": "400"})
    walked, shown = [], 0
    for path, command in sorted(_commands(), key=lambda item: _order(item[0])):
        if path in NOT_WALKED or path.startswith("simulate "):
            continue
        for argv in (_argv(path, command, ids), [*path.split(), *[HOSTILE] * _arity(command)]):
            result = runner.invoke(app, argv)
            output = result.output
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                argv,
                output,
                result.exception,
            )
            for raw in ("\x1b", "\x07", "\u202e", "closing tag"):  # the last: a markup error
                assert raw not in output, (argv, output)
            shown += SHOWN in output
        walked.append(path)
    figure(commands_walked=len(walked), outputs_showing_it_escaped=shown)
    expected = {"orders list", "orders show", "tables show", "deliveries list", "venues show"}
    assert expected <= set(walked)
    assert shown >= len(expected)


def _arity(command: Any) -> int:
    return sum(1 for p in command.params if p.param_type_name == "argument")
