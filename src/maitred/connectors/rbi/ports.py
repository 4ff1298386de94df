"""The RBI contract's side of the channel-order ports (docs/decisions/0016): the price, commit and
fire webhooks a POS gets, the cart read back for the money checks, `ORDER_UPDATED`, and the
channel's `Order` as maitred answers it (price, commit, fire, cancel, get, and the POS's Get
Order)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from maitred.channel_orders.models import ChannelOrder
from maitred.channel_orders.ports import Webhook
from maitred.channel_orders.repository import errors_of
from maitred.channel_orders.rules import ChannelOrderStatus, Leg, ready_in
from maitred.channel_orders.types import CartLine
from maitred.connectors.rbi import mapping, pos_wire
from maitred.connectors.rbi import types as wire
from maitred.connectors.rbi.events_wire import OrderUpdated

PATHS = {Leg.PRICE: "/price-order", Leg.COMMIT: "/commit-order", Leg.FIRE: "/fire-order"}
ORDER_EVENT_PATH = "/order-event"
# The Channel OpenAPI requires `posVendor` to be one of five names; maitred answers this one
# until a venue's POS says which it is.
POS_VENDOR = "NCR"


def _dump(model: wire.Wire) -> str:
    return model.model_dump_json(exclude_none=True)


class RbiOrdering:
    """A POS on the RBI contract's vendor side: webhooks to `{webhook_url}/price-order`, …"""

    def leg_webhook(
        self, leg: Leg, order: ChannelOrder, *, store_id: str, callback_url: str
    ) -> Webhook:
        """The price, commit or fire webhook for `order`."""
        common = {"callbackUrl": callback_url, "id": order.id, "storeId": store_id}
        if order.number:
            common["number"] = order.number
        if leg is Leg.PRICE:
            request = order.request or {}
            body: wire.Wire = pos_wire.PriceWebhook.model_validate(
                common
                | {
                    "serviceMode": order.service_mode,
                    "cart": order.cart,
                    "customer": order.customer,
                    "deliveryAddress": request.get("deliveryAddress"),
                    "fees": (request.get("charges") or {}).get("fees") or [],
                }
            )
        elif leg is Leg.COMMIT:
            commit = order.commit_request or {}
            payment: dict[str, Any] = {"paymentMethod": commit.get("paymentMethod", "UNPAID")}
            charges = commit.get("charges")
            if charges and charges.get("total"):
                payment["total"] = charges["total"]
            body = pos_wire.CommitWebhook.model_validate(
                common
                | {
                    "payment": payment,
                    "charges": charges,
                    "customer": order.customer,
                    "fireOrderInSeconds": commit.get("fireOrderInSeconds"),
                    "readyInSeconds": commit.get("readyInSeconds"),
                }
            )
            # spec: required, and null (hold until fired) is a value, not an absence.
            dumped = body.model_dump(mode="json", exclude_none=True)
            dumped["fireOrderInSeconds"] = commit.get("fireOrderInSeconds")
            return Webhook(PATHS[leg], json.dumps(dumped, separators=(",", ":")))
        else:
            body = pos_wire.FireWebhook.model_validate(common)
        return Webhook(PATHS[leg], _dump(body))

    def requested_lines(self, order: ChannelOrder) -> tuple[CartLine, ...]:
        """The asked cart's selections as cart lines."""
        cart = wire.Cart.model_validate(order.cart)
        return mapping.cart_lines(cart.menuSelections)


class RbiNotices:
    """`ORDER_UPDATED` to a channel's webhook URL and to a POS's `{webhook_url}/order-event`."""

    def order_updated(self, order: ChannelOrder, *, callback_url: str, at: datetime) -> str:
        """`{eventType, eventTime, id, callbackUrl, status, errors?}`."""
        errors = mapping.errors_wire(errors_of(order.errors))
        body = OrderUpdated(
            eventType="ORDER_UPDATED",
            eventTime=at,
            id=order.id,
            callbackUrl=callback_url,
            status=mapping.status_wire(ChannelOrderStatus(order.status)),
            errors=errors or None,
        )
        return _dump(body)

    def order_updated_path(self, kind: str) -> str:
        """The POS's order-event webhook; the channel's webhook URL itself."""
        return ORDER_EVENT_PATH if kind == "pos" else ""


def order_json(order: ChannelOrder, *, store_id: str) -> dict[str, Any]:
    """The order as the channel API (and the POS's Get Order) answers it, `store_id` being the
    reader's own id for the store."""
    priced = order.priced or {}
    request = order.request or {}
    commit = order.commit_request or {}
    status = ChannelOrderStatus(order.status)
    cart: dict[str, Any] = priced.get("cart") or {"menuSelections": order.cart["menuSelections"]}
    feedback = [*(priced.get("feedback") or []), *(cart.get("feedback") or [])]
    cart = {"menuSelections": cart["menuSelections"], "feedback": feedback}
    charges = priced.get("charges") or request.get("charges") or {}
    body: dict[str, Any] = {
        "id": order.id,
        "storeId": store_id,
        "cart": cart,
        "serviceMode": order.service_mode,
        "customer": order.customer,
        "charges": charges,
        "discounts": priced.get("discounts") or [],
        "posVendor": POS_VENDOR,
        "status": mapping.status_wire(status),
        "errors": [e.model_dump() for e in mapping.errors_wire(errors_of(order.errors))],
        "createdAt": order.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": order.updated_at.isoformat().replace("+00:00", "Z"),
        "fireOrderInSeconds": order.lead_time,
        "preparationTimeInSeconds": order.preparation_seconds,
        "readyInSeconds": ready_in(order.preparation_seconds, order.lead_time),
    }
    if order.external_reference_id:
        body["externalReferenceId"] = order.external_reference_id
    if commit.get("paymentMethod"):
        body["payment"] = {"paymentMethod": commit["paymentMethod"]}
    if request.get("deliveryAddress"):
        body["deliveryAddress"] = request["deliveryAddress"]
    return body


def order_answer(order: ChannelOrder, *, store_id: str) -> bytes:
    """`{data: Order}` as JSON bytes."""
    return json.dumps({"data": order_json(order, store_id=store_id)}).encode()
