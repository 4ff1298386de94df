"""A POS without the update call (decision 4): detected once, not called again, the change
held and flagged, and sent when the operator resets the capability (which settles the flag)."""

from __future__ import annotations

from typing import Any

from maitred.demo.stack import VENUE, Stack, wait_for


def _capability(stack: Stack, feature: str) -> dict[str, Any]:
    status, report = stack.admin("GET", f"/admin/venues/{VENUE}/capabilities")
    assert status == 200, report
    return next(c for c in report["capabilities"] if c["role"] == "pos" and c["feature"] == feature)


def _puts(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    return [c for c in stack.pos_calls() if c["method"] == "PUT" and order_id in c["path"]]


def test_a_pos_without_updates_is_called_once_and_the_change_waits_for_a_reset(
    stack: Stack,
) -> None:
    stack.book(bookingId="cap-1", partySize=2, status="seated", tables=["006"])
    order = stack.order_on("T6")
    wait_for("create shown", lambda: _capability(stack, "orders.create")["state"] == "supported")
    stack.faults("pos", update_unsupported=True)
    try:
        stack.change_booking("cap-1", partySize=3)
        missing = wait_for(
            "update detected as missing",
            lambda: (c := _capability(stack, "orders.update"))["state"] == "missing" and c,
        )
        assert "405" in missing["reason"]
        stack.change_booking("cap-1", partySize=4)
        held = wait_for(
            "the held-change flag",
            lambda: stack.admin("GET", "/admin/flags?kind=order.change_held")[1]["items"],
        )
        assert "not forwarded" in held[0]["message"]
        assert len(_puts(stack, order["id"])) == 1  # the second change was not sent
    finally:
        stack.faults("pos")

    status, reset = stack.admin(
        "DELETE", f"/admin/venues/{VENUE}/capabilities?feature=orders.update"
    )
    assert status == 200, reset
    assert (reset["reset"], reset["forwarded"]) == (1, 1)
    wait_for(
        "the held change to reach the POS",
        lambda: next(o for o in stack.pos_orders() if o["id"] == order["id"])["partySize"] == 4,
    )
    # The POS's answer is recorded just after it is sent: wait for it too.
    wait_for("update shown", lambda: _capability(stack, "orders.update")["state"] == "supported")
    wait_for(
        "the held-change flag resolved",
        lambda: stack.admin("GET", "/admin/flags?kind=order.change_held")[1]["items"] == [],
    )
    # The reset settled the flag that said the POS takes no updates.
    status, flags = stack.admin(
        "GET", "/admin/flags?kind=pos.update_unsupported&include_resolved=true"
    )
    assert status == 200, flags
    [unsupported] = flags["items"]
    assert unsupported["resolvedAt"] is not None
    assert unsupported["resolvedBy"] == "orders.update capability reset"


def test_an_unknown_feature_is_refused_naming_it(stack: Stack) -> None:
    status, body = stack.admin("DELETE", f"/admin/venues/{VENUE}/capabilities?feature=teleport")
    assert status == 400
    assert "feature" in str(body["error"]["details"])
