"""What an imported order is made of: the columns a file gives, the values the import fixes.

One place for the three writers of imported orders: the SQLite and PostgreSQL loaders of new
orders, and the filling of shell orders that parked events were waiting on (`shells.py`).
"""

from __future__ import annotations

from typing import Any

# What the import says of every order that a row of the file does not (see docs/import.md).
FIXED: dict[str, Any] = {
    "number": None,
    "status": "open",
    "financial_status": "paid",
    "fulfillment_status": "unfulfilled",
    "presentment_currency": None,
    "presentment_total_minor": None,
    "shipping_minor": 0,
    "tax_minor": 0,
    "discount_codes": [],
    "loyalty_opt_in": False,
}
# A new order starts with these too; a shell keeps its own (its parked refunds set them).
NEW_ORDER: dict[str, Any] = {**FIXED, "refunded_minor": 0, "attributes": {}}

ORDER_FROM_FILE = (
    "customer_id",
    "channel",
    "store_id",
    "email",
    "phone",
    "currency",
    "subtotal_minor",
    "discount_minor",
    "total_minor",
    "placed_at",
)
LINE_FROM_FILE = (
    "external_id",
    "sku",
    "product_id",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
    "discount_minor",
    "total_minor",
)
