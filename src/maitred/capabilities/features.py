"""The features maitred may use of a partner's API, by name (decisions 4 and 15).

A contract's adapter lists the ones it has, with the call each stands for; the capability
report shows them, and a use case never calls a feature the adapter lacks.
"""

from __future__ import annotations

from typing import Final

TABLES_LIST: Final = "tables.list"
ORDERS_CREATE: Final = "orders.create"
ORDERS_UPDATE: Final = "orders.update"
ORDERS_LIST: Final = "orders.list"
ORDERS_GET: Final = "orders.get"

ALL: Final = (TABLES_LIST, ORDERS_CREATE, ORDERS_UPDATE, ORDERS_LIST, ORDERS_GET)
