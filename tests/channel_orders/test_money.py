"""Money rules: amounts in minor units, and a POS's priced answer checked for consistency."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maitred.channel_orders.money import MAX_ERRORS, check_priced, price_mismatch
from maitred.channel_orders.types import (
    BIGINT_MAX,
    CartLine,
    Charges,
    Discount,
    Fee,
    Feedback,
    Money,
    PartnerErrorCode,
    PricedCart,
)

MENU, UNKNOWN = PartnerErrorCode.MENU, PartnerErrorCode.UNKNOWN


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def line(entry: str, quantity: int, price: int | None, *children: CartLine) -> CartLine:
    return CartLine(
        entry_id=entry,
        quantity=quantity,
        price=None if price is None else eur(price),
        children=children,
    )


SUNDAES = line("item_404", 2, 398)
COMBO = line(
    "combo_501", 1, 899, line("item_101", 1, 0, line("mod_9", 1, 0)), line("item_202", 1, 50)
)
ASKED = (line("item_404", 2, None), line("combo_501", 1, None))


def priced(
    lines: tuple[CartLine, ...] = (SUNDAES, COMBO),
    *,
    tax: int = 130,
    fees: tuple[Fee, ...] = (),
    discounts: tuple[Discount, ...] = (),
    feedback: tuple[Feedback, ...] = (),
    total: int | None = None,
) -> PricedCart:
    sub_total = sum(root.price.amount for root in lines if root.price is not None)
    extra = sum(f.total.amount for f in fees) - sum(d.total.amount for d in discounts)
    charges = Charges(
        sub_total=eur(sub_total),
        tax=eur(tax),
        total=eur(sub_total + tax + extra if total is None else total),
        fees=fees,
    )
    return PricedCart(lines=lines, charges=charges, discounts=discounts, feedback=feedback)


def codes_and_messages(answer: PricedCart, **kwargs: object) -> list[tuple[str, str]]:
    errors = check_priced(answer, currency="EUR", **kwargs)  # type: ignore[arg-type]
    return [(e.code.name, e.message) for e in errors]


def test_a_consistent_answer_has_no_errors() -> None:
    answer = priced(
        fees=(Fee("BAG_FEE", eur(10)),),
        discounts=(Discount("DISCOUNT", eur(100)),),
        feedback=(Feedback("item_404", available=True, price=eur(199)),),
    )
    assert check_priced(answer, currency="EUR", requested=ASKED) == ()


def test_the_total_must_be_subtotal_plus_tax_plus_fees_minus_discounts() -> None:
    answer = priced(fees=(Fee("BAG_FEE", eur(10)),), total=1297 + 130)
    assert codes_and_messages(answer) == [
        ("UNKNOWN", "the total 1427 EUR is not sub-total + tax + fees - discounts (1437 EUR)")
    ]


def test_the_subtotal_must_be_the_sum_of_the_lines() -> None:
    answer = priced()
    answer = replace(answer, charges=replace(answer.charges, sub_total=eur(1300), total=eur(1430)))
    assert codes_and_messages(answer) == [
        ("UNKNOWN", "the sub-total 1300 EUR is not the sum of the lines (1297 EUR)")
    ]


def test_a_foreign_currency_is_an_unknown_error_and_stops_the_sums() -> None:
    answer = priced()
    answer = replace(answer, charges=replace(answer.charges, tax=Money(130, "USD")))
    assert codes_and_messages(answer) == [("UNKNOWN", "the tax is in USD; the venue prices in EUR")]


def test_a_negative_line_is_a_menu_error_and_a_negative_charge_unknown() -> None:
    answer = priced((line("item_404", 2, -398),), tax=0, total=-398)
    answer = replace(answer, charges=replace(answer.charges, sub_total=eur(-398)))
    assert codes_and_messages(answer) == [
        ("MENU", "line item_404 is negative (-398 EUR)"),
        ("UNKNOWN", "the sub-total is negative (-398 EUR)"),
        ("UNKNOWN", "the total is negative (-398 EUR)"),
    ]


def test_an_unpriced_line_is_a_menu_error() -> None:
    answer = priced((SUNDAES, line("combo_501", 1, None)))
    assert codes_and_messages(answer) == [("MENU", "line combo_501 has no price")]


def test_parts_costing_more_than_their_line_is_a_menu_error() -> None:
    combo = line("combo_501", 1, 40, line("item_202", 1, 50))
    assert codes_and_messages(priced((combo,))) == [
        ("MENU", "the parts of line combo_501 cost more than it")
    ]


def test_the_priced_lines_must_be_the_lines_asked_for() -> None:
    answer = priced((line("item_404", 1, 199), line("item_999", 1, 100)))
    assert codes_and_messages(answer, requested=ASKED) == [
        ("MENU", "line item_404 priced for 1, asked for 2"),
        ("MENU", "line combo_501 is missing from the priced cart"),
        ("MENU", "line item_999 was priced but not asked for"),
    ]


def test_an_unavailable_entry_in_the_feedback_is_a_menu_error() -> None:
    answer = priced(feedback=(Feedback("mod_9", available=False),))
    assert codes_and_messages(answer) == [("MENU", "mod_9 is unavailable")]


def test_feedback_on_an_entry_not_in_the_cart_is_a_menu_error() -> None:
    answer = priced(feedback=(Feedback("item_777", price=eur(100)),))
    assert codes_and_messages(answer) == [
        ("MENU", "feedback on item_777, which is not in the cart")
    ]


def test_charges_beyond_64_bits_are_an_unknown_error() -> None:
    fees = (Fee("BAG_FEE", eur(BIGINT_MAX)), Fee("CUP_FEE", eur(BIGINT_MAX)))
    answer = priced(fees=fees, total=BIGINT_MAX)
    assert codes_and_messages(answer) == [
        ("UNKNOWN", "the charges add up to more than a 64-bit amount")
    ]


def test_many_problems_are_told_in_a_bounded_number_of_errors() -> None:
    lines = tuple(line(f"item_{n}", 1, None) for n in range(50))
    answer = PricedCart(lines, Charges(eur(0), eur(0), eur(0)))
    assert len(check_priced(answer, currency="EUR")) == MAX_ERRORS


def test_a_price_mismatch_is_a_menu_error() -> None:
    error = price_mismatch(eur(1592), eur(1602))
    assert error is not None
    assert (error.code, error.message) == (
        MENU,
        "price mismatch: the channel expects 1592 EUR, the POS 1602 EUR",
    )
    assert price_mismatch(eur(1592), eur(1592)) is None
    assert price_mismatch(None, eur(1592)) is None


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        (2**63, "EUR", ValueError),
        (-(2**63) - 1, "EUR", ValueError),
        (1, "eur", ValueError),
        (1, "EURO", ValueError),
        (True, "EUR", TypeError),
        (1.5, "EUR", TypeError),
    ],
)
def test_money_holds_only_storable_integers_in_a_currency(
    amount: object, currency: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Money(amount, currency)  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_cart_line_has_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CartLine(entry_id="item_1", quantity=quantity)


prices = st.integers(min_value=0, max_value=10**9)


@given(st.lists(prices, min_size=1, max_size=8), prices, st.lists(prices, max_size=3))
def test_any_answer_built_by_the_formula_is_consistent(
    amounts: list[int], tax: int, fees: list[int]
) -> None:
    lines = tuple(line(f"item_{n}", 1, amount) for n, amount in enumerate(amounts))
    answer = priced(lines, tax=tax, fees=tuple(Fee("SERVICE_FEE", eur(f)) for f in fees))
    assert check_priced(answer, currency="EUR", requested=lines) == ()


@given(st.lists(prices, min_size=1, max_size=8), prices, st.integers(1, 10**6))
def test_any_total_off_by_any_amount_is_caught(amounts: list[int], tax: int, off: int) -> None:
    lines = tuple(line(f"item_{n}", 1, amount) for n, amount in enumerate(amounts))
    answer = priced(lines, tax=tax, total=sum(amounts) + tax + off)
    assert [e.code for e in check_priced(answer, currency="EUR")] == [UNKNOWN]
