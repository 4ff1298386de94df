"""Neutral value types of channel orders: money in integer minor units, carts and priced carts,
and the errors a POS gives. No partner's spelling: each connector maps its wire to these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# What a BIGINT column (and a 64-bit integer on the wire) holds: every stored amount fits.
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
_CURRENCY = re.compile(r"[A-Z]{3}")


def fits_bigint(value: int) -> bool:
    """Whether `value` can be stored in a BIGINT column."""
    return BIGINT_MIN <= value <= BIGINT_MAX


@dataclass(frozen=True)
class Money:
    """An amount in the currency's minor unit (cents for EUR) and an ISO-4217 code."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("a money amount is an integer number of minor units")
        if not fits_bigint(self.amount):
            raise ValueError(f"amount {self.amount} does not fit a 64-bit integer")
        if not _CURRENCY.fullmatch(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO-4217 code")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class PartnerErrorCode(StrEnum):
    """Why a POS could not price, commit or fire an order."""

    MENU = "menu"  # an item unknown, unavailable, or priced inconsistently
    STORE = "store"  # the store is offline or closed
    TIMEOUT = "timeout"  # the POS did not answer in time
    UNKNOWN = "unknown"  # anything else, including a POS's technical failure


@dataclass(frozen=True)
class PartnerError:
    """One reason a POS (or maitred on its behalf) gives for an order in error."""

    code: PartnerErrorCode
    message: str


@dataclass(frozen=True)
class CartLine:
    """One selection of a cart, with its parts (modifiers, combo slots, offer contents).

    In a requested cart `price` is what the channel expects per unit, if anything; in a priced
    cart it is what the POS charges for the whole line (its quantity and its parts)."""

    entry_id: str
    quantity: int
    plu: str | None = None  # the POS's product code for this entry
    kind: str | None = None  # item, combo, modifier, offer… as the channel names it
    reference_id: str | None = None  # a secondary menu id, echoed back when given
    price: Money | None = None
    children: tuple[CartLine, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError("a quantity is an integer")
        if self.quantity < 1:
            raise ValueError(f"quantity of {self.entry_id} must be at least 1")

    def walk(self) -> tuple[CartLine, ...]:
        """This line and every line below it, depth first."""
        lines: list[CartLine] = []
        stack = [self]
        while stack:
            line = stack.pop()
            lines.append(line)
            stack.extend(reversed(line.children))
        return tuple(lines)


@dataclass(frozen=True)
class Fee:
    """A charge on the order besides its lines (bag, cup, delivery, service)."""

    kind: str
    total: Money


@dataclass(frozen=True)
class Discount:
    """An amount taken off the order."""

    kind: str
    total: Money


@dataclass(frozen=True)
class Charges:
    """What the order costs: lines (sub-total), tax, fees, and the total the guest pays."""

    sub_total: Money
    tax: Money
    total: Money
    fees: tuple[Fee, ...] = ()


@dataclass(frozen=True)
class Feedback:
    """The POS's word on one entry it adjusted: availability and the current unit price."""

    entry_id: str
    available: bool | None = None  # None: available
    price: Money | None = None  # None: the price asked is right


@dataclass(frozen=True)
class PricedCart:
    """A POS's priced answer: the priced lines, the charges, discounts and its feedback."""

    lines: tuple[CartLine, ...]
    charges: Charges
    discounts: tuple[Discount, ...] = ()
    feedback: tuple[Feedback, ...] = ()
