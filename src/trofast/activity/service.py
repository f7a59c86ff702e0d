from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trofast.ingest.schemas import CheckoutIn, ProductIn
from trofast.kit.money import to_minor
from trofast.kit.sql import insert_ignore
from trofast.kit.time import utc_now
from trofast.models import Checkout, Product, ProductView


def upsert_checkout(
    session: Session, source: str, checkout: CheckoutIn, customer_id: int | None, seen_at: datetime
) -> int:
    lines = [
        {
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price_minor": to_minor(line.unit_price, checkout.currency),
        }
        for line in checkout.lines
    ]
    values = {
        "customer_id": customer_id,
        "email": checkout.customer.email if checkout.customer else None,
        "currency": checkout.currency,
        "total_minor": to_minor(checkout.total, checkout.currency),
        "lines": lines,
        "recovery_url": checkout.url,
        "completed_at": checkout.completed_at,
        "source_updated_at": seen_at,
    }
    insert_ignore(
        session,
        Checkout.__table__,  # type: ignore[arg-type]
        {
            **values,
            "source": source,
            "external_id": checkout.id,
            "started_at": checkout.started_at or seen_at,
        },
        conflict=["source", "external_id"],
    )
    row = session.scalars(
        select(Checkout)
        .where(Checkout.source == source, Checkout.external_id == checkout.id)
        .with_for_update()
    ).one()
    if seen_at > row.source_updated_at:
        for name, value in values.items():
            if value is not None:
                setattr(row, name, value)
    return row.id


def record_view(
    session: Session,
    product: ProductIn,
    customer_id: int | None,
    anonymous_id: str | None,
    at: datetime,
    event_id: int,
) -> None:
    insert_ignore(
        session,
        Product.__table__,  # type: ignore[arg-type]
        {
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "brand": product.brand,
            "sustainable": False,
            "updated_at": utc_now(),
        },
        conflict=["sku"],
    )
    product_id = session.scalars(select(Product.id).where(Product.sku == product.sku)).one()
    session.add(
        ProductView(
            customer_id=customer_id,
            anonymous_id=anonymous_id,
            sku=product.sku,
            product_id=product_id,
            occurred_at=at,
            event_id=event_id,
        )
    )
