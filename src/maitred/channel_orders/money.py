"""Money rules for a POS's priced answer (decision record 0017): every amount an integer of minor
units in the venue's currency, never negative; lines consistent with their parts and with the
cart asked for; the sub-total the sum of the lines, and

    total = sub-total + tax + fees - discounts

Pure: each check returns the partner errors it finds (MENU for what concerns the lines, UNKNOWN
for charges that do not add up), none when the answer is consistent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from maitred.channel_orders.types import (
    CartLine,
    Money,
    PartnerError,
    PartnerErrorCode,
    PricedCart,
    fits_bigint,
)

MENU = PartnerErrorCode.MENU
UNKNOWN = PartnerErrorCode.UNKNOWN
# A cart of a thousand wrong lines is told in a few errors, not a thousand.
MAX_ERRORS = 10


def check_priced(
    priced: PricedCart, *, currency: str, requested: Sequence[CartLine] = ()
) -> tuple[PartnerError, ...]:
    """What is inconsistent in a POS's priced answer for a venue pricing in `currency`, the cart
    having been `requested` (empty: not compared)."""
    foreign = _foreign_currency(priced, currency)
    if foreign:
        return foreign  # sums across currencies mean nothing
    problems = [
        *_negative(priced),
        *_line_prices(priced.lines),
        *_against_request(priced.lines, requested),
        *_feedback(priced, requested),
        *_charges(priced),
    ]
    return tuple(problems[:MAX_ERRORS])


def price_mismatch(expected: Money | None, priced: Money) -> PartnerError | None:
    """A MENU error when the total a channel agreed to differs from the POS's (None: agreed, or
    the channel named no total)."""
    if expected is None or expected == priced:
        return None
    return PartnerError(MENU, f"price mismatch: the channel expects {expected}, the POS {priced}")


def _amounts(priced: PricedCart) -> Iterator[tuple[str, Money, PartnerErrorCode]]:
    """Every amount of the answer with a label and the error code its faults belong to."""
    for root in priced.lines:
        for line in root.walk():
            if line.price is not None:
                yield f"line {line.entry_id}", line.price, MENU
    for entry in priced.feedback:
        if entry.price is not None:
            yield f"the feedback on {entry.entry_id}", entry.price, MENU
    charges = priced.charges
    yield "the sub-total", charges.sub_total, UNKNOWN
    yield "the tax", charges.tax, UNKNOWN
    yield "the total", charges.total, UNKNOWN
    for fee in charges.fees:
        yield f"the {fee.kind} fee", fee.total, UNKNOWN
    for discount in priced.discounts:
        yield f"the {discount.kind} discount", discount.total, UNKNOWN


def _foreign_currency(priced: PricedCart, currency: str) -> tuple[PartnerError, ...]:
    found = [
        PartnerError(UNKNOWN, f"{label} is in {money.currency}; the venue prices in {currency}")
        for label, money, _ in _amounts(priced)
        if money.currency != currency
    ]
    return tuple(found[:MAX_ERRORS])


def _negative(priced: PricedCart) -> Iterator[PartnerError]:
    for label, money, code in _amounts(priced):
        if money.amount < 0:
            yield PartnerError(code, f"{label} is negative ({money})")


def _line_prices(lines: Sequence[CartLine]) -> Iterator[PartnerError]:
    for root in lines:
        if root.price is None:
            yield PartnerError(MENU, f"line {root.entry_id} has no price")
        for line in root.walk():
            parts = [child.price.amount for child in line.children if child.price is not None]
            if parts and line.price is not None and sum(parts) > line.price.amount:
                yield PartnerError(MENU, f"the parts of line {line.entry_id} cost more than it")


def _against_request(
    priced: Sequence[CartLine], requested: Sequence[CartLine]
) -> Iterator[PartnerError]:
    if not requested:
        return
    asked = _quantities(requested)
    answered = _quantities(priced)
    for entry_id, quantity in asked.items():
        if entry_id not in answered:
            yield PartnerError(MENU, f"line {entry_id} is missing from the priced cart")
        elif answered[entry_id] != quantity:
            got = answered[entry_id]
            yield PartnerError(MENU, f"line {entry_id} priced for {got}, asked for {quantity}")
    for entry_id in answered.keys() - asked.keys():
        yield PartnerError(MENU, f"line {entry_id} was priced but not asked for")


def _quantities(lines: Sequence[CartLine]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for line in lines:
        totals[line.entry_id] += line.quantity
    return totals


def _feedback(priced: PricedCart, requested: Sequence[CartLine]) -> Iterator[PartnerError]:
    known = {line.entry_id for root in (*priced.lines, *requested) for line in root.walk()}
    for entry in priced.feedback:
        if entry.entry_id not in known:
            yield PartnerError(MENU, f"feedback on {entry.entry_id}, which is not in the cart")
        elif entry.available is False:
            # A POS that prices a cart it cannot serve: the answer is an error, not a price.
            yield PartnerError(MENU, f"{entry.entry_id} is unavailable")


def _charges(priced: PricedCart) -> Iterator[PartnerError]:
    charges = priced.charges
    currency = charges.total.currency
    if all(root.price is not None for root in priced.lines):
        lines = sum(root.price.amount for root in priced.lines if root.price is not None)
        if lines != charges.sub_total.amount:
            yield PartnerError(
                UNKNOWN,
                f"the sub-total {charges.sub_total} is not the sum of the lines "
                f"({lines} {currency})",
            )
    fees = sum(fee.total.amount for fee in charges.fees)
    discounts = sum(discount.total.amount for discount in priced.discounts)
    expected = charges.sub_total.amount + charges.tax.amount + fees - discounts
    if not all(fits_bigint(value) for value in (fees, discounts, expected)):
        yield PartnerError(UNKNOWN, "the charges add up to more than a 64-bit amount")
    elif expected != charges.total.amount:
        yield PartnerError(
            UNKNOWN,
            f"the total {charges.total} is not sub-total + tax + fees - discounts "
            f"({expected} {currency})",
        )
