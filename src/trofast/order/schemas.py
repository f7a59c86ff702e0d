from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OrderOut(BaseModel):
    id: int
    source: str
    external_id: str
    number: str | None
    customer_id: int | None
    channel: str
    store_id: int | None
    status: str
    financial_status: str
    fulfillment_status: str
    currency: str
    presentment_currency: str | None
    presentment_total_minor: int | None
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    refunded_minor: int
    discount_codes: list[str]
    placed_at: datetime | None
    paid_at: datetime | None
    cancelled_at: datetime | None
    fulfilled_at: datetime | None
    delivered_at: datetime | None


class LineOut(BaseModel):
    id: int
    external_id: str
    sku: str | None
    name: str | None
    category: str | None
    quantity: int
    unit_price_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    gift_card: bool


class StatusChangeOut(BaseModel):
    field: str
    old_value: str | None
    new_value: str
    occurred_at: datetime


class RefundLineOut(BaseModel):
    line_external_id: str
    order_line_id: int | None
    quantity: int
    amount_minor: int


class RefundOut(BaseModel):
    id: int
    external_id: str
    amount_minor: int
    shipping_minor: int
    reason: str | None
    occurred_at: datetime
    lines: list[RefundLineOut]


class ShipmentOut(BaseModel):
    external_id: str
    status: str
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None


class OrderDetail(OrderOut):
    lines: list[LineOut]
    status_history: list[StatusChangeOut]
    refunds: list[RefundOut]
    shipments: list[ShipmentOut]


class LinkCustomer(BaseModel):
    customer_id: int = Field(ge=1, le=2**53)
