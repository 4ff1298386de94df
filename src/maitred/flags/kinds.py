"""Every kind of flag maitred raises, and what settles each one.

A flag a later event settles is resolved by that event (`resolved_by` says which); the others
wait for an operator, who may also resolve or acknowledge any flag (`maitred flags`).
"""

from __future__ import annotations

from dataclasses import dataclass

BOOKING_HELD = "booking.held"
BOOKING_CANCELLED_AFTER_OPEN = "booking.cancelled_after_open"
BOOKING_FOLLOWUP_FAILED = "booking.followup_failed"
ORDER_CREATE_FAILED = "order.create_failed"
ORDER_SKU_REJECTED = "order.sku_rejected"
ORDER_UPDATE_FAILED = "order.update_failed"
ORDER_CHANGE_HELD = "order.change_held"
ORDER_MISSING_IN_POS = "order.missing_in_pos"
ORDER_WALK_IN_RACED = "order.walk_in_raced_booking"
POS_UPDATE_UNSUPPORTED = "pos.update_unsupported"
VENUE_NO_POS = "venue.no_pos"
TABLES_REFRESH_FAILED = "tables.refresh_failed"

# The flags about one order that its end (closed or voided in the POS) makes moot.
ENDED_WITH_ORDER = (
    ORDER_UPDATE_FAILED,
    ORDER_CHANGE_HELD,
    ORDER_MISSING_IN_POS,
    ORDER_WALK_IN_RACED,
)


@dataclass(frozen=True)
class Kind:
    """One kind of flag: what raises it and what settles it (None: only an operator)."""

    raised: str
    settled_by: str | None


KINDS: dict[str, Kind] = {
    BOOKING_HELD: Kind(
        "a seated booking's table has no usable POS table mapped, or the venue has no POS",
        "the booking going through: maitred retries it when a mapping appears (refresh, "
        "automatic match, `tables map`) or the venue's links change; also its cancellation",
    ),
    BOOKING_CANCELLED_AFTER_OPEN: Kind(
        "a booking was cancelled or a no-show after its POS order opened (never voided by us)",
        "the POS closing or voiding that order, or the booking being seated again",
    ),
    BOOKING_FOLLOWUP_FAILED: Kind(
        "applying a booking change to the POS side raised an error",
        "the booking's next follow-up succeeding (a new state from the RMS, or a retry)",
    ),
    ORDER_CREATE_FAILED: Kind(
        "the POS refused to open an order a booking asked for",
        "the create being replayed and accepted",
    ),
    ORDER_SKU_REJECTED: Kind(
        "the POS refused pre-ordered items (422 Unknown SKU(s)); the order opened without them",
        None,
    ),
    ORDER_UPDATE_FAILED: Kind(
        "the POS refused a change to an open order",
        "a later update accepted, or the order closed or voided",
    ),
    ORDER_CHANGE_HELD: Kind(
        "a booking change was not sent: the POS takes no order updates",
        "the change going out (capability reset) and accepted, or the order closed or voided",
    ),
    ORDER_MISSING_IN_POS: Kind(
        "an order open in maitred is unknown to the POS (404 to a lookup)",
        "the POS listing, returning or reporting the order again, or the order ending",
    ),
    ORDER_WALK_IN_RACED: Kind(
        "a walk-in on a seated booking's tables reached maitred after the booking's create had "
        "gone to the POS: the POS may hold two orders for one party",
        "the booking's order closed or voided in the POS",
    ),
    POS_UPDATE_UNSUPPORTED: Kind(
        "the POS answered 404/405/501 to an order update",
        "the orders.update capability being reset, or an update accepted",
    ),
    VENUE_NO_POS: Kind(
        "a seated booking at a venue without a POS partner (with a base URL)",
        "a booking of the venue reaching its POS",
    ),
    TABLES_REFRESH_FAILED: Kind(
        "fetching the venue's tables by itself failed three times in a row (a partner down…)",
        "the next successful refresh",
    ),
}
