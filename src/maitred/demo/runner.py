"""`maitred demo`: maitred, a POS and an RMS (the bundled simulators) on loopback, playing a
dinner service step by step, with online orders from a channel through an RBI-contract POS,
then a summary of what went where."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from maitred.demo.online import play_online
from maitred.demo.stack import ADMIN, ONLINE_VENUE, VENUE, Stack, call, wait_for


@dataclass
class Service:
    """One evening: the running stack and what each step showed."""

    stack: Stack
    console: Console
    steps: list[tuple[str, str, bool]] = field(default_factory=list)

    def step(self, title: str, check: Callable[[], str]) -> None:
        """Play one step: `check` does it, waits for its effects and describes them."""
        try:
            outcome, ok = check(), True
        except AssertionError as error:
            outcome, ok = f"not as expected: {error}", False
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.console.print(f"{mark} [bold]{title}[/]\n    {outcome}")
        self.steps.append((title, outcome, ok))

    def events(self, check: str, count: int) -> list[dict[str, Any]]:
        """The first `count` pos_order events the RMS received for `check`."""
        return self.stack.events_for(check, count)[:count]

    def describe(self, event: dict[str, Any]) -> str:
        """One event as the RMS saw it."""
        body = event["body"]
        booking = body["bookingId"] or "no booking"
        total = body["commercials"]["totalAmount"]
        verdict = "checked OK" if not event["problems"] else f"PROBLEMS {event['problems']}"
        return (
            f"RMS got {body['type']}/{body['status']} for check {body['checkNumber']} "
            f"({booking}, total {total:.2f}) — {verdict}"
        )


def run(*, once: bool, workdir: Path) -> int:
    """Play the service; 0 when every step behaved as expected. SIGTERM and SIGHUP end it like
    Ctrl-C: the hub and the simulators it started are stopped with it."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    console = Console()
    database = (workdir / "maitred.db").resolve()
    stack = Stack(
        workdir=workdir.resolve(),
        database_url=f"sqlite:///{database}",
        env={"MAITRED_RETRY_SCALE": "0.05"},
    )
    console.print(
        "[bold]Starting[/] maitred and four partner simulators (POS, RMS, RBI POS, channel)"
        " on loopback…"
    )
    started = time.monotonic()
    ok = False
    previous = _stop_on_signals()
    try:
        stack.start()
        console.print(
            f"  maitred      {stack.hub}  (API docs {stack.hub}/docs)\n"
            f"  admin token  {ADMIN}\n  database     {database}\n"
            f"  POS          {stack.pos}\n  RMS          {stack.rms}\n"
            f"  RBI POS      {stack.rbi_pos}\n  channel      {stack.channel}\n",
            soft_wrap=True,  # a long path stays one line to copy
        )
        service = Service(stack, console)
        play(service)
        ok = summary(service, time.monotonic() - started)
        if not once:
            # soft_wrap: a command longer than the terminal is wrapped by the terminal, never
            # broken by a newline that a copy-paste would carry into the shell
            console.print(try_next(stack, workdir.resolve(), database), soft_wrap=True)
            _wait_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        _restore(previous)
    return 0 if ok else 1


def try_next(stack: Stack, workdir: Path, database: Path) -> str:
    """What an operator can try against the running demo, from another terminal."""
    env = f"MAITRED_DATABASE_URL=sqlite:///{database} MAITRED_DATA_DIR={workdir}"
    auth = f'-H "Authorization: Bearer {ADMIN}"'
    return (
        "\n[bold]Everything keeps running[/] (logs in "
        f"{workdir}); Ctrl-C ends it and stops the simulators. Try, in another terminal:\n"
        f"  {env} maitred orders list {VENUE}\n"
        f"  {env} maitred deliveries list\n"
        f"  {env} maitred tables show {VENUE}\n"
        f"  {env} maitred channel-orders list {ONLINE_VENUE}\n"
        f"  curl {auth} {stack.hub}/admin/venues/{VENUE}/orders\n"
        f"  curl {auth} '{stack.hub}/admin/traces?limit=5'\n"
        f"  open {stack.hub}/docs and Authorize with the admin token\n"
        f"  the simulators: {stack.pos}/_sim/state, {stack.rms}/_sim/bookings,\n"
        f"    {stack.rbi_pos}/_sim/state, {stack.channel}/_sim/events"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


Handlers = dict[int, Any]


def _stop_on_signals() -> Handlers:
    """Make SIGTERM and SIGHUP interrupt like Ctrl-C; the handlers they replace."""
    return {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}


def _restore(previous: Handlers) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _wait_forever() -> None:
    while True:
        time.sleep(3600)


def play(s: Service) -> None:
    """The evening, in order."""
    st = s.stack

    def tables() -> str:
        status, view = st.admin("GET", f"/admin/venues/{VENUE}/tables")
        assert status == 200, view
        active = [m for m in view["mappings"] if not m.get("stale")]
        assert len(active) == 12, f"{len(active)} tables mapped"
        return "12 RMS tables (001…012) matched to POS tables (Table 1…12) automatically"

    s.step("Before service: maitred matches the RMS's tables to the POS's", tables)

    def lovelace() -> str:
        st.book(
            bookingId="B-101",
            partySize=2,
            status="seated",
            tables=["001"],
            contact={"firstname": "Ada", "lastname": "Lovelace"},
        )
        order = st.order_on("T1")
        [event] = s.events(order["checks"][0]["checkNumber"], 1)
        return f"POS order {order['id']} opened on T1 for Ada Lovelace; " + s.describe(event)

    s.step("19:30 Lovelace (2) seated at 001", lovelace)

    def turing() -> str:
        st.book(
            bookingId="B-102",
            partySize=4,
            status="seated",
            tables=["003"],
            prepayment=40.0,
            contact={"firstname": "Alan", "lastname": "Turing"},
            items=[{"sku": "MENU-DEGUST", "quantity": 4}, {"sku": "WINE-012", "quantity": 2}],
        )
        order = st.order_on("T3")
        lines = ", ".join(f"{i['quantity']} x {i['name']}" for i in order["checks"][0]["items"])
        return f"POS order {order['id']} on T3 with the pre-order: {lines}"

    s.step("19:35 Turing (4) seated at 003 with a pre-ordered tasting menu", turing)

    def walk_in() -> str:
        answer = st.pos_do("/walk-in", {"tables": ["T5"], "partySize": 2})
        check = answer["order"]["checks"][0]["checkNumber"]
        [event] = s.events(check, 1)
        return "the POS opened T5 itself; " + s.describe(event)

    s.step("19:40 A walk-in couple sits at T5", walk_in)

    def hopper() -> str:
        st.book(
            bookingId="B-103",
            partySize=2,
            status="seated",
            tables=["005"],
            contact={"firstname": "Grace", "lastname": "Hopper"},
        )
        order = st.order_on("T5")
        events = s.events(order["checks"][0]["checkNumber"], 2)
        assert len([o for o in st.pos_orders() if "T5" in o["tables"]]) == 1
        return "no second order opened; linked instead: " + s.describe(events[1])

    s.step("19:42 …they had booked: Hopper seated at 005", hopper)

    def move() -> str:
        st.change_booking("B-101", tables=["002"], partySize=3)
        wait_for(
            "the move",
            lambda: any(o["tables"] == ["T2"] and o["partySize"] == 3 for o in st.pos_orders()),
        )
        return "the RMS re-sent the booking; maitred moved the POS order to T2, party of 3"

    s.step("19:50 Lovelace moves to 002 and a friend joins", move)

    def refused() -> str:
        bookings = call("GET", st.rms + "/_sim/bookings")[1]
        booking = next(b for b in bookings if b["bookingId"] == "B-101")
        status, body = call(
            "POST", st.hub + "/rms", {**booking, "partySize": "three"}, st.keys["rms_key"]
        )
        assert status == 400, body
        return f"400, naming {', '.join(body['error']['details'])}; nothing stored"

    s.step("19:51 A malformed update is refused", refused)

    def ghost_sku() -> str:
        st.book(
            bookingId="B-104",
            partySize=2,
            status="seated",
            tables=["010"],
            contact={"firstname": "Barbara", "lastname": "Liskov"},
            items=[{"sku": "GHOST-SKU", "quantity": 2}],
        )
        order = st.order_on("T10")
        assert order["checks"][0]["items"] == []
        status, flags = st.admin("GET", "/admin/flags?kind=order.sku_rejected")
        assert status == 200, flags
        assert flags["items"], "no flag raised"
        return "the POS said 422 Unknown SKU(s); the table opened without it and it is flagged"

    s.step("20:00 Liskov (2) seated at 010 with a pre-order the POS doesn't know", ghost_sku)

    def dinner() -> str:
        for table, items in (
            ("T2", [{"sku": "STEAK", "quantity": 3}, {"sku": "WATER", "quantity": 2}]),
            ("T5", [{"sku": "PIZZA-001", "quantity": 2}, {"sku": "BEER", "quantity": 2}]),
            ("T10", [{"sku": "PIZZA-001", "quantity": 2}]),
        ):
            order = st.order_on(table)
            st.pos_do(f"/orders/{order['id']}/items", {"items": items})
        return "items rung up on T2, T5 and T10; each change reached the RMS as an update"

    s.step("20:15 The kitchen is busy", dinner)

    def split() -> str:
        order = st.order_on("T3")
        answer = st.pos_do(f"/orders/{order['id']}/split", {"parts": 2})
        numbers = [c["checkNumber"] for c in answer["order"]["checks"]]
        [created] = s.events(numbers[1], 1)
        return f"checks {', '.join(numbers)}; the new one: " + s.describe(created)

    s.step("21:30 Turing's table splits the bill", split)

    def pay() -> str:
        turing_order = st.order_on("T3")
        for check, method in zip(turing_order["checks"], ("cash", "visa"), strict=False):
            st.pos_do(
                f"/orders/{turing_order['id']}/checks/{check['checkNumber']}/close",
                {"paymentMethod": method, "tip": 5},
            )
        for table in ("T2", "T5", "T10"):
            order = st.order_on(table)
            st.pos_do(f"/orders/{order['id']}/close", {"paymentMethod": "card", "tip": 8})
        check = turing_order["checks"][0]["checkNumber"]
        last = wait_for(
            "a CLOSE event",
            lambda: (e := st.rms_events(check)) and e[-1]["body"]["status"] == "CLOSE" and e[-1],
        )
        return "every table paid; e.g. " + s.describe(last)

    s.step("22:15 Bills are paid (cash, Visa, cards)", pay)

    def void() -> str:
        answer = st.pos_do("/walk-in", {"tables": ["T8"], "partySize": 1})
        order, check = answer["order"], answer["order"]["checks"][0]["checkNumber"]
        st.pos_do(f"/orders/{order['id']}/void")
        last = wait_for(
            "a void event",
            lambda: (e := st.rms_events(check)) and e[-1]["body"]["type"] == "void" and e[-1],
        )
        return "opened on T8 by mistake and voided; " + s.describe(last)

    s.step("22:20 A check opened by mistake is voided", void)
    play_online(st, s.step)


def summary(s: Service, seconds: float) -> bool:
    """Count what happened, from the partners' side and maitred's; True when all went well."""
    st = s.stack
    events = st.rms_events()
    orders = st.pos_orders()
    _, deliveries = st.admin("GET", "/admin/deliveries?limit=1000")
    _, flags = st.admin("GET", "/admin/flags")
    _, traces = st.admin("GET", "/admin/traces?limit=1000")
    delivered = [d for d in deliveries["items"] if d["state"] == "delivered"]
    failed = [d for d in deliveries["items"] if d["state"] == "failed"]
    problems = sum(len(e["problems"]) for e in events)
    online = st.channel_events()
    online_problems = sum(len(e["problems"]) for e in online)
    table = Table(title=f"The service in {seconds:.0f} s")
    table.add_column("what")
    table.add_column("count", justify="right")
    opened = sum(
        1
        for c in st.pos_calls()
        if c["method"] == "POST" and c["path"].endswith("/orders") and c["status"] in (200, 201)
    )
    rows = [
        ("bookings sent by the RMS", len(call("GET", st.rms + "/_sim/bookings")[1])),
        ("POS orders opened by maitred", opened),
        ("POS orders opened by the POS (walk-ins)", len(orders) - opened),
        ("checks", len({c["checkNumber"] for o in orders for c in o["checks"]})),
        ("pos_order events received by the RMS", len(events)),
        ("…with contract problems", problems),
        ("webhooks received by the channel (online orders)", len(online)),
        ("…with contract problems", online_problems),
        ("deliveries delivered", len(delivered)),
        ("deliveries failed", len(failed)),
        ("open flags", len(flags["items"])),
        ("calls traced", len(traces["items"])),
        ("steps as expected", f"{sum(ok for *_, ok in s.steps)} / {len(s.steps)}"),
    ]
    for what, count in rows:
        table.add_row(what, str(count))
    s.console.print()
    s.console.print(table)
    for d in failed:
        s.console.print(f"  failed: {d['kind']} → {d['lastStatus']} {d.get('lastError') or ''}")
    for f in flags["items"]:
        s.console.print(f"  flag: {f['kind']}: {f['message']}")
    for e in events:
        for problem in e["problems"]:
            body = e["body"] if isinstance(e["body"], dict) else {}
            s.console.print(f"  contract problem (check {body.get('checkNumber')}): {problem}")
    return all(ok for *_, ok in s.steps) and problems == 0 and online_problems == 0
