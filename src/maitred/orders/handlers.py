"""What the POS's answers to maitred's calls mean (registered as delivery outcome hooks)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maitred.capabilities import service as capabilities
from maitred.clock import now
from maitred.deliveries import outcomes
from maitred.deliveries import service as deliveries
from maitred.deliveries.models import DELIVERED, FAILED, Delivery
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import events, pos_calls, seating
from maitred.orders import repository as repo
from maitred.orders.models import PosOrder
from maitred.orders.ports import PosAdapter
from maitred.orders.rules import OrderStatus
from maitred.partners import contracts
from maitred.partners import repository as partners
from maitred.reservations.models import Reservation

# Statuses that say "this API has no such call" rather than "not now" (decision 4).
UNSUPPORTED = frozenset({404, 405, 501})


def _adapter(session: Session, partner_id: str) -> PosAdapter | None:
    """The POS adapter of the partner's contract."""
    partner = partners.get(session, partner_id)
    return contracts.pos_of(partner.contract) if partner is not None else None


def _order_of(session: Session, delivery_id: int) -> tuple[PosOrder, Delivery] | None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    # Every call about an order is ordered by it (`pos_calls.pos_call`).
    order_id = (delivery.ordering_key or "").removeprefix(pos_calls.ORDER_KEY)
    order = session.get(PosOrder, order_id)
    return (order, delivery) if order is not None else None


def on_create_answer(session: Session, outcome: outcomes.Outcome) -> None:
    """The POS opened (or refused) an order maitred asked for."""
    found = _order_of(session, outcome.delivery_id)
    if found is None or outcome.state not in (DELIVERED, FAILED):
        return
    order, delivery = found
    # A 404 to a create is more likely an unknown venue than a missing call: not counted.
    _note_capability(
        session, capabilities.ORDERS_CREATE, order, delivery, outcome, unsupported={405, 501}
    )
    adapter = _adapter(session, delivery.partner_id)
    if outcome.state == DELIVERED:
        _opened(session, order, outcome, delivery.correlation_id, adapter)
    elif (
        adapter is not None
        and adapter.refused_items(delivery.body, outcome.status_code, outcome.response_body)
        and not repo.rejects_unknown_skus(session, order.venue_id)
    ):
        _retry_without_items(session, order, outcome, delivery.correlation_id)
    else:
        order.status = OrderStatus.FAILED
        order.note = f"POS refused the order: {outcome.status_code} {outcome.response_body}"
        flags.raise_flag(
            session,
            venue_id=order.venue_id,
            kind=kinds.ORDER_CREATE_FAILED,
            subject=f"order:{order.id}",
            message=order.note,
        )


def _opened(
    session: Session,
    order: PosOrder,
    outcome: outcomes.Outcome,
    correlation_id: str | None,
    adapter: PosAdapter | None,
) -> None:
    answer = adapter.opened(outcome.response_body) if adapter is not None else None
    at = now()
    if answer is not None and answer.pos_order_id is not None:
        order.pos_order_id = order.pos_order_id or answer.pos_order_id
    # failed: its create was replayed
    if order.status in (OrderStatus.REQUESTED, OrderStatus.FAILED):
        order.status, order.opened_at = OrderStatus.OPEN, at
        flags.resolve(
            session,
            venue_id=order.venue_id,
            kind=kinds.ORDER_CREATE_FAILED,
            subject=f"order:{order.id}",
            by="the POS accepted the create",
        )
    order.updated_at = at
    if answer is not None and answer.check_number is not None:
        check = seating.check_for_new_order(session, order, answer.check_number)
        if not check.announced:
            events.announce(
                session,
                order=order,
                check=check,
                event_type="create",
                correlation_id=correlation_id,
            )
    if order.needs_update and order.pos_order_id and order.reservation_id is not None:
        reservation = session.get(Reservation, order.reservation_id)
        if reservation is not None:
            pos_calls.request_update(session, order, reservation, correlation_id)


def _retry_without_items(
    session: Session, order: PosOrder, outcome: outcomes.Outcome, correlation_id: str | None
) -> None:
    """decision 9: the guest's table must open; the refused items are flagged, not dropped."""
    message = f"POS refused the pre-ordered items ({outcome.response_body}); order opened without"
    order.note = message
    flags.raise_flag(
        session,
        venue_id=order.venue_id,
        kind=kinds.ORDER_SKU_REJECTED,
        subject=f"order:{order.id}",
        message=message,
    )
    reservation = session.get(Reservation, order.reservation_id) if order.reservation_id else None
    if reservation is None:
        return
    retried = pos_calls.request_create(
        session, order, reservation, correlation_id, with_items=False
    )
    if retried is not None:  # the refused create is replaced: a replay must not send it again
        deliveries.supersede(session, outcome.delivery_id, by=retried)


def on_update_answer(session: Session, outcome: outcomes.Outcome) -> None:
    """decision 4: 404/405/501 to the update call mean the POS cannot take changes."""
    found = _order_of(session, outcome.delivery_id)
    if found is None or outcome.state not in (DELIVERED, FAILED):
        return
    order, delivery = found
    _note_capability(session, capabilities.ORDERS_UPDATE, order, delivery, outcome)
    if outcome.state == DELIVERED:
        _update_accepted(session, order)
        return
    if outcome.status_code in UNSUPPORTED:
        flags.raise_flag(
            session,
            venue_id=order.venue_id,
            kind=kinds.POS_UPDATE_UNSUPPORTED,
            subject=f"venue:{order.venue_id}",
            message="The POS does not accept order updates (capability missing); reservation "
            "changes stay visible here but are not forwarded.",
        )
        pos_calls.hold_change(session, order)
        return
    flags.raise_flag(
        session,
        venue_id=order.venue_id,
        kind=kinds.ORDER_UPDATE_FAILED,
        subject=f"order:{order.id}",
        message=f"The POS refused an order update: {outcome.status_code}",
    )


def _update_accepted(session: Session, order: PosOrder) -> None:
    """The order has the booking's latest state, and the POS plainly takes updates."""
    by = "the POS accepted an update"
    flags.settle(
        session,
        venue_id=order.venue_id,
        kinds=[kinds.ORDER_CHANGE_HELD, kinds.ORDER_UPDATE_FAILED],
        subjects=[f"order:{order.id}"],
        by=by,
    )
    flags.resolve(
        session,
        venue_id=order.venue_id,
        kind=kinds.POS_UPDATE_UNSUPPORTED,
        subject=f"venue:{order.venue_id}",
        by=by,
    )


def _note_capability(
    session: Session,
    feature: str,
    order: PosOrder,
    delivery: Delivery,
    outcome: outcomes.Outcome,
    *,
    unsupported: frozenset[int] | set[int] = UNSUPPORTED,
) -> None:
    """A success shows the call exists; 404/405/501 show it does not (decision 4)."""
    if outcome.state == DELIVERED or outcome.status_code in unsupported:
        capabilities.record(
            session,
            venue_id=order.venue_id,
            partner_id=delivery.partner_id,
            feature=feature,
            supported=outcome.state == DELIVERED,
            reason=f"HTTP {outcome.status_code} to {delivery.method} {delivery.url}",
        )


def register() -> None:
    """Install the hooks (at process start)."""
    outcomes.register(pos_calls.CREATE_KIND, on_create_answer)
    outcomes.register(pos_calls.UPDATE_KIND, on_update_answer)
