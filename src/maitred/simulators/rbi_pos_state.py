"""The RBI POS simulator's world: a menu of PLUs (prices in minor units, availability), the store's
online flag, and the orders maitred asked it to price, commit and fire.

Pricing: a line costs `quantity * (unit price + its parts)`; inside a combo an item costs its
`included` price (usually 0), so a meal is not charged twice. Tax is `tax_percent` of the
sub-total, rounded half up to the minor unit; fees and discounts come from the webhook; the total
is `sub-total + tax + fees - discounts` (the rule maitred checks, decision record 0017).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from maitred.connectors.rbi import pos_wire
from maitred.connectors.rbi.types import MenuSelection

COMBOS = frozenset({"Combo", "OfferCombo"})


@dataclass
class Plu:
    """A product the POS sells: price in minor units, and its price inside a combo."""

    plu: str
    name: str
    price: int
    included: int = 0
    available: bool = True


def default_menu() -> list[Plu]:
    """The PLUs of the contract's example carts, and a few more."""
    return [
        Plu("PLU-COMBO-WHOPPER", "Whopper meal", 899),
        Plu("PLU-WHOPPER", "Whopper", 599),
        Plu("PLU-NO-ONION", "No onion", 0),
        Plu("PLU-CHEESE", "Extra cheese", 50, included=50),
        Plu("PLU-FRIES-M", "Medium fries", 299),
        Plu("PLU-COKE-M", "Medium Coke", 249),
        Plu("PLU-SUNDAE", "Sundae", 199),
        Plu("PLU-NUGGETS-9", "9 nuggets", 549),
    ]


class Refusal(Exception):
    """The POS cannot price or commit: an RBI partner error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SimOrder:
    """An order as the POS knows it."""

    id: str
    store: str
    number: str | None = None
    cart: list[MenuSelection] = field(default_factory=list)
    fees: list[dict[str, Any]] = field(default_factory=list)
    discounts: list[dict[str, Any]] = field(default_factory=list)
    status: str = "CREATED"
    lead_time: int | None = None
    held: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The order for `GET /_sim/state`."""
        return {
            "id": self.id,
            "store": self.store,
            "number": self.number,
            "status": self.status,
            "leadTime": self.lead_time,
            "cart": [s.model_dump(mode="json", exclude_unset=True) for s in self.cart],
            "held": sorted(self.held),
            "updates": self.updates,
        }


class RbiPosState:
    """The menu, the store and the orders of one simulated RBI-contract POS."""

    def __init__(self, store: str, currency: str, tax_percent: int) -> None:
        self.store = store
        self.currency = currency
        self.tax_percent = tax_percent
        self.online = True
        self.menu = {p.plu: p for p in default_menu()}
        self.orders: dict[str, SimOrder] = {}

    def remember(self, webhook: pos_wire.PriceWebhook) -> SimOrder:
        """Keep (or refresh, on a re-price) the cart of a price webhook."""
        order = self.orders.setdefault(webhook.id, SimOrder(id=webhook.id, store=webhook.storeId))
        order.number = webhook.number
        order.cart = list(webhook.cart.menuSelections)
        order.fees = [fee.model_dump(mode="json") for fee in webhook.fees]
        order.discounts = [d.model_dump(mode="json") for d in webhook.orderDiscounts]
        return order

    def check_store(self) -> None:
        """A STORE refusal while the store is offline."""
        if not self.online:
            raise Refusal("STORE", f"store {self.store} is offline")

    def price(self, order: SimOrder, *, bad_totals: bool = False) -> dict[str, Any]:
        """The PRICED callback body for `order`, or a `Refusal`."""
        self.check_store()
        lines = [self._line(node, in_combo=False) for node in order.cart]
        sub_total = sum(line["price"]["amount"] for line in lines)
        tax = (sub_total * self.tax_percent + 50) // 100
        fees = sum(fee["total"]["amount"] for fee in order.fees)
        discounts = sum(d["total"]["amount"] for d in order.discounts)
        total = sub_total + tax + fees - discounts + (1 if bad_totals else 0)
        body: dict[str, Any] = {
            "status": "PRICED",
            "cart": {"menuSelections": lines},
            "feedback": [],
            "charges": {
                "subTotal": self.money(sub_total),
                "tax": self.money(tax),
                "total": self.money(total),
                "fees": order.fees,
            },
        }
        if order.discounts:
            body["discounts"] = order.discounts
        return body

    def check_available(self, order: SimOrder) -> None:
        """A MENU refusal when an item of the order sold out since it was priced."""
        for node in order.cart:
            self._line(node, in_combo=False)

    def money(self, amount: int) -> dict[str, Any]:
        """`{currency, amount}` in the store's currency."""
        return {"currency": self.currency, "amount": amount}

    def _line(self, node: MenuSelection, *, in_combo: bool) -> dict[str, Any]:
        """A priced selection: the PLU's price (or combo price) plus its parts, times quantity."""
        plu = self._plu(node)
        children = [
            self._line(child, in_combo=node.type in COMBOS) for child in node.menuSelections or ()
        ]
        unit = plu.included if in_combo else plu.price
        parts = sum(child["price"]["amount"] for child in children)
        line = node.model_dump(mode="json", exclude_unset=True, exclude={"menuSelections"})
        line["price"] = self.money(node.quantity * (unit + parts))
        if children:
            line["menuSelections"] = children
        return line

    def _plu(self, node: MenuSelection) -> Plu:
        code = node.externalReferenceId
        plu = self.menu.get(code or "")
        if plu is None:
            raise Refusal("MENU", f"{code or node.id} is not on the menu")
        if not plu.available:
            raise Refusal("MENU", f"{plu.plu} unavailable")
        return plu
