"""Operators see channel orders (docs/decisions/0033): the admin API lists a venue's orders and
shows one with its trace, and `maitred channel-orders list|show` prints the same, partner text
made visible as every other command does."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.checkout.stack import ADMIN, ChannelStack
from tests.cli.support import maitred


async def _admin(stack: ChannelStack, path: str) -> tuple[int, Any]:
    return await stack.call("GET", stack.hub + path, key=ADMIN)


async def _price(stack: ChannelStack, body: dict[str, Any]) -> dict[str, Any]:
    answer = await stack.channel_do("/_sim/orders/price", body)
    assert answer["status"] == 200, answer
    data: dict[str, Any] = answer["body"]["data"]
    return data


async def test_admin_api_and_cli_show_channel_orders(stack: ChannelStack) -> None:
    priced = await _price(stack, {"externalReferenceId": "web-\x1b[31mred"})
    await stack.pos_do("/_sim/menu/PLU-SUNDAE", {"available": False})
    refused = await _price(stack, {})
    assert refused["status"] == "ERROR"

    status, page = await _admin(stack, "/admin/venues/burger-17/channel-orders")
    assert status == 200, page
    assert [o["id"] for o in page["items"]] == [refused["id"], priced["id"]]  # newest first
    first = page["items"][1]
    assert first["status"] == "priced"
    assert first["channelPartnerId"] == "web"
    assert first["posPartnerId"] == "till"
    assert first["total"] == priced["charges"]["total"]["amount"]
    assert first["currency"] == "EUR"
    assert page["items"][0]["errors"][0]["code"] == "MENU"

    status, only = await _admin(stack, "/admin/venues/burger-17/channel-orders?status=error")
    assert [o["id"] for o in only["items"]] == [refused["id"]]
    status, bad = await _admin(stack, "/admin/venues/burger-17/channel-orders?status=lost")
    assert status == 400, bad
    assert "status" in str(bad)

    status, detail = await _admin(stack, f"/admin/venues/burger-17/channel-orders/{priced['id']}")
    assert status == 200, detail
    assert [(e["source"], e["verdict"], e["statusAfter"]) for e in detail["events"]] == [
        ("price_request", "apply", "created"),
        ("callback", "apply", "priced"),
    ]
    assert detail["cart"]["menuSelections"]
    assert detail["priced"]["status"] == "PRICED"
    status, missing = await _admin(stack, f"/admin/venues/other-17/channel-orders/{priced['id']}")
    assert status == 404, missing
    status, _ = await stack.call("GET", stack.hub + "/admin/venues/burger-17/channel-orders")
    assert status == 401

    env = {k: v for k, v in stack.hubs[0].env.items() if k.startswith("MAITRED_")}
    listed = await asyncio.to_thread(maitred, "channel-orders", "list", "burger-17", env=env)
    assert listed.returncode == 0, listed.stderr
    assert priced["id"] in listed.stdout
    assert refused["id"] in listed.stdout
    assert "\x1b" not in listed.stdout  # the channel's reference is shown, not obeyed
    assert "web-\\x1b[31mred" in listed.stdout
    shown = await asyncio.to_thread(maitred, "channel-orders", "show", refused["id"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "MENU" in shown.stdout
    assert "price_request" in shown.stdout
    assert "created → error" in shown.stdout
    unknown = await asyncio.to_thread(maitred, "channel-orders", "show", "no-such-order", env=env)
    assert unknown.returncode != 0
    assert "not found" in unknown.stdout + unknown.stderr
