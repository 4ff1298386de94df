"""The lifecycle's properties (tests/channel_orders) hold once wired: the POS's reports on a
committed order, drawn at random with duplicates and in any order, go through the real writer
jobs on a real database; the stored status only moves forward, the trace and the
`ORDER_UPDATED`s say the same, and the order ends in the same status whatever the order of
arrival."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maitred.channel_orders.models import ChannelOrder, ChannelOrderEvent
from maitred.channel_orders.rules import FINAL, RANK, ChannelOrderStatus, Leg, Report
from maitred.channel_orders.types import CartLine, Charges, Money, PricedCart
from maitred.checkout import flow
from maitred.deliveries.models import Delivery
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.security import SecretBox
from maitred.venues.models import Venue
from tests.factories import make_partner, make_venue

S = ChannelOrderStatus
EUR = "EUR"
CART = {"menuSelections": [{"id": "a", "externalReferenceId": "PLU-SUNDAE", "quantity": 2}]}
PRICED = PricedCart(
    lines=(CartLine("a", 2, plu="PLU-SUNDAE", price=Money(398, EUR)),),
    charges=Charges(Money(398, EUR), Money(40, EUR), Money(438, EUR)),
)
# What a POS may send about a committed order (no two different final statuses).
POS_REPORTS = {
    "committed": Report.callback(Leg.COMMIT, S.COMMITTED),
    "preparing": Report.event(S.PREPARING),
    "fired": Report.callback(Leg.FIRE, S.PREPARING),
    "prepared": Report.event(S.PREPARED),
    "done": Report.event(S.DONE),
    "resent committed": Report.event(S.COMMITTED),
}


def _world(runtime: Runtime) -> None:
    def job(session: Session) -> None:
        box = SecretBox.from_settings(runtime.settings.secret_key, runtime.settings.data_dir)
        for pid, kind in (("web", "channel"), ("till", "pos")):
            make_partner(
                session, box, id=pid, kind=kind, api_key=f"{pid}-key-0123456789abcdef",
                webhook_url=f"http://127.0.0.1:9/{pid}",
            )  # fmt: skip
            session.execute(update(Partner).where(Partner.id == pid).values(contract="rbi"))
        make_venue(session, id="v", links={"web": "4242", "till": "pos-17"})
        session.execute(update(Venue).where(Venue.id == "v").values(currency=EUR))

    runtime.writer.run_sync(job)


def _committed_order(runtime: Runtime, ctx: flow.Context) -> str:
    new = flow.NewOrder("web", "4242", "TAKEOUT", CART, {"name": "A", "email": "a@b.c"})
    order_id = runtime.writer.run_sync(flow.create(new, ctx)).order.id
    priced = Report.callback(Leg.PRICE, S.PRICED)
    runtime.writer.run_sync(
        flow.callback("till", order_id, priced, ctx, priced=PRICED, priced_doc={"cart": CART})
    )
    commit = flow.Commit(None, {"paymentMethod": "CASH", "fireOrderInSeconds": None})
    result = runtime.writer.run_sync(flow.commit("web", order_id, commit, ctx))
    assert result.order.status == "priced"
    assert "commit" in result.order.awaiting
    return order_id


def _expected(names: list[str]) -> S:
    reported = [POS_REPORTS[name].status for name in names]
    statuses = [s for s in reported if s is not None]
    return max(statuses, key=lambda s: RANK[s], default=S.PRICED)


def _history(runtime: Runtime, order_id: str) -> tuple[list[str], list[str], str]:
    with runtime.db.read_sessions() as session:
        trace = session.scalars(
            select(ChannelOrderEvent.status_after)
            .where(ChannelOrderEvent.order_id == order_id)
            .order_by(ChannelOrderEvent.seq)
        ).all()
        bodies = session.scalars(
            select(Delivery.body)
            .where(Delivery.kind == "rbi.order_updated", Delivery.partner_id == "web")
            .where(Delivery.body.contains(order_id))
            .order_by(Delivery.id)
        ).all()
        status = session.scalar(select(ChannelOrder.status).where(ChannelOrder.id == order_id))
    updates = [json.loads(body)["status"].lower() for body in bodies]
    return list(trace), updates, str(status)


def _forward(statuses: list[str]) -> bool:
    ranks = [RANK.get(S(s), 99) for s in statuses]
    finals = [i for i, s in enumerate(statuses) if S(s) in FINAL]
    moved_after_final = finals and len(set(statuses[finals[0] :])) > 1
    return ranks == sorted(ranks) and not moved_after_final


REPORTS = st.lists(st.sampled_from(sorted(POS_REPORTS)), min_size=1, max_size=8)


async def test_pos_reports_in_any_order_end_the_same_and_only_move_forward(
    runtime: Runtime,
) -> None:
    _world(runtime)
    ctx = flow.Context.of(runtime.settings)
    seen: dict[tuple[str, ...], str] = {}

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(names=REPORTS, data=st.data())
    def run(names: list[str], data: Any) -> None:
        order_id = _committed_order(runtime, ctx)
        arrival = data.draw(st.permutations(names))
        for name in arrival:
            runtime.writer.run_sync(flow.event("till", order_id, POS_REPORTS[name], ctx))
        trace, updates, status = _history(runtime, order_id)
        assert _forward(trace), trace
        assert _forward(updates), updates
        assert updates[-1] == status  # the channel's last word is the order's status
        assert status == _expected(names).value
        key = tuple(sorted(names))
        assert seen.setdefault(key, status) == status  # same end, whatever the arrival order

    run()
