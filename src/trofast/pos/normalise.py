"""Pure: a batch of till receipts → `order.placed` events (paid, channel `store`)."""

from __future__ import annotations

from pydantic import ValidationError

from trofast.errors import validation_failed
from trofast.ingest.schemas import OrderIn, OrderPlaced
from trofast.ingest.service import parse_json
from trofast.models import Delivery
from trofast.pos.schemas import Receipt, ReceiptBatch


def receipt_event(store: str, receipt: Receipt) -> OrderPlaced:
    return OrderPlaced(
        type="order.placed",
        # The till's id is the key: a batch resent after an offline spell is a no-op.
        idempotency_key=f"pos:{store}:{receipt.id}",
        occurred_at=receipt.occurred_at,
        source=f"pos:{store}",
        order=OrderIn(
            id=receipt.id,
            number=receipt.number,
            customer=receipt.member,
            channel="store",
            store=store,
            currency=receipt.currency,
            lines=receipt.lines,
            discount=receipt.discount,
            total=receipt.total,
            financial_status="paid",
            fulfillment_status="fulfilled",
            placed_at=receipt.occurred_at,
            updated_at=receipt.occurred_at,
            paid_at=receipt.occurred_at,
            discount_codes=receipt.discount_codes,
            loyalty_opt_in=receipt.loyalty_opt_in,
        ),
    )


def normalise_receipts(delivery: Delivery) -> list[OrderPlaced]:
    try:
        batch = ReceiptBatch.model_validate(parse_json(delivery.body))
        # Building the order re-checks amounts against the currency's decimals.
        return [receipt_event(batch.store, receipt) for receipt in batch.receipts]
    except ValidationError as exc:
        raise validation_failed(exc.errors(include_url=False)) from None
