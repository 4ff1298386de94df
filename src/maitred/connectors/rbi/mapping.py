"""RBI wire ⇄ the channel-orders domain: money, carts, charges, statuses, partner errors, and
the lifecycle reports that callbacks, events and channel requests amount to."""

from __future__ import annotations

from collections.abc import Sequence

from maitred.channel_orders import types as domain
from maitred.channel_orders.rules import ChannelOrderStatus, Leg, Report
from maitred.connectors.rbi import pos_wire
from maitred.connectors.rbi import types as wire
from maitred.connectors.rbi.channel_wire import CommitOrder, PlaceOrder

STATUSES = {status.name: status for status in ChannelOrderStatus}
CODES = {code.name: code for code in domain.PartnerErrorCode}
LEGS: dict[type[wire.Wire], Leg] = {
    pos_wire.Priced: Leg.PRICE,
    pos_wire.PriceFailed: Leg.PRICE,
    pos_wire.Committed: Leg.COMMIT,
    pos_wire.CommitFailed: Leg.COMMIT,
    pos_wire.Preparing: Leg.FIRE,
    pos_wire.FireFailed: Leg.FIRE,
}


def money(value: wire.Money) -> domain.Money:
    """Wire money to the domain's."""
    return domain.Money(amount=value.amount, currency=value.currency)


def money_wire(value: domain.Money) -> wire.Money:
    """Domain money to the wire's."""
    return wire.Money(currency=value.currency, amount=value.amount)


def _maybe_money(value: wire.Money | None) -> domain.Money | None:
    return None if value is None else money(value)


def cart_lines(selections: Sequence[wire.MenuSelection]) -> tuple[domain.CartLine, ...]:
    """A cart's selection tree as cart lines."""
    return tuple(
        domain.CartLine(
            entry_id=node.id,
            quantity=node.quantity,
            plu=node.externalReferenceId,
            kind=node.type,
            reference_id=node.referenceId,
            price=_maybe_money(node.price),
            children=cart_lines(node.menuSelections or ()),
        )
        for node in selections
    )


def selections(lines: Sequence[domain.CartLine]) -> list[wire.MenuSelection]:
    """Cart lines as a selection tree; absent fields stay absent on the wire."""
    return [wire.MenuSelection.model_validate(_selection(line)) for line in lines]


def priced_selections(lines: Sequence[domain.CartLine]) -> list[wire.MenuSelectionPriced]:
    """Priced cart lines (each top line has its price) as a priced selection tree."""
    return [wire.MenuSelectionPriced.model_validate(_selection(line)) for line in lines]


def _selection(line: domain.CartLine) -> dict[str, object]:
    node: dict[str, object] = {"id": line.entry_id}
    optional = {"referenceId": line.reference_id, "externalReferenceId": line.plu}
    node |= {key: value for key, value in optional.items() if value is not None}
    if line.kind is not None:
        node["type"] = line.kind
    node["quantity"] = line.quantity
    if line.price is not None:
        node["price"] = money_wire(line.price)
    if line.children:
        node["menuSelections"] = [_selection(child) for child in line.children]
    return node


def charges(value: wire.PricedCharges) -> domain.Charges:
    """A priced answer's charges."""
    fees = tuple(domain.Fee(kind=fee.type, total=money(fee.total)) for fee in value.fees or ())
    return domain.Charges(
        sub_total=money(value.subTotal), tax=money(value.tax), total=money(value.total), fees=fees
    )


def charges_wire(value: domain.Charges) -> wire.PricedCharges:
    """Charges as the wire spells them."""
    return wire.PricedCharges(
        subTotal=money_wire(value.sub_total),
        tax=money_wire(value.tax),
        total=money_wire(value.total),
        fees=[wire.Fee(type=fee.kind, total=money_wire(fee.total)) for fee in value.fees],
    )


def feedback(entries: Sequence[wire.Feedback]) -> tuple[domain.Feedback, ...]:
    """The POS's feedback entries."""
    return tuple(
        domain.Feedback(entry.entryId, entry.isAvailable, _maybe_money(entry.price))
        for entry in entries
    )


def priced_cart(answer: pos_wire.Priced) -> domain.PricedCart:
    """A PRICED callback as a priced cart (feedback read beside the cart and inside it)."""
    return domain.PricedCart(
        lines=cart_lines(answer.cart.menuSelections),
        charges=charges(answer.charges),
        discounts=tuple(
            domain.Discount(kind=d.type, total=money(d.total)) for d in answer.discounts
        ),
        feedback=feedback([*answer.feedback, *(answer.cart.feedback or ())]),
    )


def cart_priced_wire(cart: domain.PricedCart) -> wire.CartPriced:
    """A priced cart as the channel's `Order.cart`."""
    entries = [
        wire.Feedback(
            entryId=entry.entry_id,
            isAvailable=entry.available,
            price=None if entry.price is None else money_wire(entry.price),
        )
        for entry in cart.feedback
    ]
    return wire.CartPriced(menuSelections=priced_selections(cart.lines), feedback=entries)


def partner_errors(
    body: pos_wire.PriceFailed | pos_wire.CommitFailed | pos_wire.FireFailed | pos_wire.OrderEvent,
) -> tuple[domain.PartnerError, ...]:
    """The reasons a body gives, from `errors` and `partnerErrors` alike (decision 17)."""
    return tuple(
        domain.PartnerError(code=CODES[error.code], message=error.message)
        for error in (*body.errors, *body.partnerErrors)
    )


def errors_wire(errors: Sequence[domain.PartnerError]) -> list[wire.POSOrderError]:
    """Partner errors as maitred writes them (`partnerErrors` entries)."""
    return [wire.POSOrderError(code=error.code.name, message=error.message) for error in errors]


def status(value: str) -> ChannelOrderStatus:
    """A wire status (`PREPARED`) as the domain's."""
    return STATUSES[value]


def status_wire(value: ChannelOrderStatus) -> wire.OrderStatus:
    """A domain status as the wire spells it."""
    return value.name  # type: ignore[return-value]


def callback_report(body: pos_wire.Callback) -> Report:
    """A callback as a lifecycle report of its leg."""
    leg = LEGS[type(body)]
    if isinstance(body, pos_wire.PriceFailed | pos_wire.CommitFailed | pos_wire.FireFailed):
        return Report.callback(leg, ChannelOrderStatus.ERROR, partner_errors(body))
    return Report.callback(leg, status(body.status))


def event_report(body: pos_wire.OrderEvent) -> Report:
    """An order event as a lifecycle report."""
    return Report.event(status(body.status), partner_errors(body))


def commit_report(body: CommitOrder | PlaceOrder) -> Report:
    """A channel's commit (or the commit half of a place) as a lifecycle report."""
    return Report.commit_request(body.fireOrderInSeconds)
