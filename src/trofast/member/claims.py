"""A member claims a store receipt after the purchase, by its number and amount.

A guest receipt (a store order with no customer) whose number and total match is given to
the member by one conditional UPDATE (`customer_id IS NULL`), so of two claims at once, by
one member or by two, exactly one wins; the programme engine then earns its points, keyed
by the order, so they are earned once. An unknown number and a known number with another
amount get the same `receipt_not_found` and count as a failed attempt; a receipt that
already belongs to a member is `already_claimed`, told only to whoever has its amount.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from trofast.kit.money import currency_exponent
from trofast.member import repository
from trofast.member.errors import (
    AlreadyClaimed,
    AmbiguousReceipt,
    MemberNotFound,
    NotAMember,
    ReceiptNotFound,
)
from trofast.member.schemas import ClaimIn
from trofast.models import ReceiptClaim
from trofast.program import engine
from trofast.program.service import active, is_member


def _amount_minor(amount: Decimal, currency: str) -> int | None:
    """The amount in minor units, or None when it has more decimals than the currency has:
    no receipt has that total (rounding it could match a receipt the caller never saw)."""
    scaled = amount.scaleb(currency_exponent(currency))
    return int(scaled) if scaled == scaled.to_integral_value() else None


def check_member(session: Session, customer_id: int) -> None:
    customer = repository.get_customer(session, customer_id)
    if customer is None:
        raise MemberNotFound(f"no member {customer_id}")
    program = active(session)
    if program is not None and not is_member(program.programme, customer):
        # Under an opt-in programme the receipt would be linked and earn nothing, and a
        # later enrolment would not bring its points back: join first, then claim.
        raise NotAMember("only members can claim receipts; enrol first")


def claim(
    session: Session,
    customer_id: int,
    body: ClaimIn,
    *,
    currency: str,
    api_key_id: int | None,
    now: datetime,
) -> ReceiptClaim:
    """Link the receipt to the member and earn its points; raises `ReceiptNotFound`,
    `AlreadyClaimed` or `AmbiguousReceipt`. The caller checks `check_member` first."""
    total = _amount_minor(body.amount, currency)
    if total is None:
        raise ReceiptNotFound("no receipt with this number and amount")
    since = until = None
    if body.purchased_on is not None:
        since = datetime.combine(body.purchased_on, time(), UTC)
        until = since + timedelta(days=1)
    found = repository.store_receipts(
        session, body.number, total, store=body.store, since=since, until=until, limit=20
    )
    if not found:
        raise ReceiptNotFound("no receipt with this number and amount")
    guests = [row.id for row in found if row.customer_id is None]
    if not guests:
        raise AlreadyClaimed("this receipt already belongs to a member")
    if len(guests) > 1:
        raise AmbiguousReceipt(
            "several receipts have this number and amount; give the store and the date",
            detail={"matches": len(guests)},
        )
    order_id = guests[0]
    if not repository.link_receipt(session, order_id, customer_id, now):
        raise AlreadyClaimed("this receipt already belongs to a member")
    order = repository.lock_order(session, order_id)
    synced = engine.sync_order(session, order, event_id=None, now=now)
    row = ReceiptClaim(
        order_id=order_id,
        customer_id=customer_id,
        api_key_id=api_key_id,
        points=synced.earned if synced is not None else 0,
        claimed_at=now,
    )
    repository.add_claim(session, row)
    return row
