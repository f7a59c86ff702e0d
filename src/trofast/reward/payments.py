"""Points as payment at the web checkout and at the till.

`pay` is idempotent by order: the order claims its row (UNIQUE source + reference) before the
ledger debits the points, so a retried checkout finds its first payment and a different
request for the same order is a conflict. `release` (the order was cancelled) returns the
points through `ledger.restore`, at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from trofast.kit.time import utc_now
from trofast.ledger import queries as ledger_queries
from trofast.ledger import service as ledger
from trofast.ledger.core import Reasons, request_hash
from trofast.ledger.errors import IdempotencyConflict, MemberNotFound
from trofast.models import Order, PointsPayment
from trofast.program import repository as programmes
from trofast.program.catalogue import PointsPayment as Terms
from trofast.program.service import Active, require_active
from trofast.reward import quote as pricing
from trofast.reward import repository
from trofast.reward.errors import PointsPaymentNotFound, PointsPaymentRefused


@dataclass(frozen=True)
class Paid:
    payment: PointsPayment
    replayed: bool


@dataclass(frozen=True)
class OrderRef:
    """The order as its source names it, like a coupon redemption names it."""

    source: str
    ref: str


def _terms(program: Active, currency: str, channel: str) -> Terms:
    terms = program.programme.points_payment
    if terms is None:
        raise PointsPaymentRefused(
            "the programme does not let points pay", code="points_payment_disabled"
        )
    if currency.upper() != program.programme.currency:
        raise PointsPaymentRefused(
            f"points pay in {program.programme.currency} only", code="currency_not_allowed"
        )
    if terms.channels and channel not in terms.channels:
        raise PointsPaymentRefused(
            f"points do not pay in the {channel} channel", code="channel_not_allowed"
        )
    return terms


def _member(session: Session, customer_id: int) -> None:
    if programmes.customer(session, customer_id) is None:
        raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})


def _refused(reason: str) -> PointsPaymentRefused:
    return PointsPaymentRefused(f"points cannot pay for this order: {reason}", code=reason)


def quote(
    session: Session,
    customer_id: int,
    *,
    order_total_minor: int,
    currency: str,
    channel: str,
    points: int | None,
) -> pricing.Quote:
    """What the member's points can take off this order. Writes nothing."""
    program = require_active(session)
    terms = _terms(program, currency, channel)
    _member(session, customer_id)
    balance = ledger_queries.balance_summary(session, customer_id).available
    found = pricing.quote(terms, order_total_minor, balance, points)
    if isinstance(found, str):
        raise _refused(found)
    return found


def pay(
    session: Session,
    customer_id: int,
    order: OrderRef,
    *,
    order_total_minor: int,
    currency: str,
    channel: str,
    points: int,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> Paid:
    """Debit `points` for the order's discount; the same order again is a replay."""
    now = now or utc_now()
    program = require_active(session)
    terms = _terms(program, currency, channel)
    _member(session, customer_id)
    digest = request_hash(
        {
            "customer_id": customer_id,
            "order_total_minor": order_total_minor,
            "currency": currency.upper(),
            "channel": channel,
            "points": points,
        }
    )
    # The balance is the ledger's to check, under the member's lock.
    found = pricing.quote(terms, order_total_minor, None, points)
    if isinstance(found, str):
        raise _refused(found)
    new_id = repository.claim_payment(
        session,
        {
            "customer_id": customer_id,
            "order_source": order.source,
            "order_ref": order.ref,
            "request_hash": digest,
            "points": points,
            "discount_minor": found.discount_minor,
            "currency": program.programme.currency,
            "channel": channel,
            "programme_version": program.version,
            "status": "active",
            "api_key_id": api_key_id,
            "created_at": now,
        },
    )
    if new_id is None:
        first = repository.payment_of_order(session, order.source, order.ref)
        assert first is not None
        if first.request_hash != digest:
            raise IdempotencyConflict(
                "this order paid with points before, with another request",
                detail={"points_payment_id": first.id},
            )
        return Paid(first, replayed=True)
    entry = ledger.spend(
        session,
        customer_id,
        f"points_payment:{new_id}",
        points,
        reasons=Reasons(
            programme_version=program.version,
            rule="points_payment",
            note=f"order {order.source}:{order.ref}",
        ),
        now=now,
    )
    row = repository.payment(session, new_id)
    assert row is not None
    row.ledger_transaction_id = entry.transaction_id
    session.flush()
    return Paid(row, replayed=False)


def release(
    session: Session,
    order: OrderRef,
    *,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> PointsPayment:
    """The order was cancelled: return its points. Releasing again changes nothing."""
    now = now or utc_now()
    row = repository.payment_of_order(session, order.source, order.ref)
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise PointsPaymentNotFound("this order paid nothing with points")
    _release(session, row, now)
    return row


def _release(session: Session, row: PointsPayment, now: datetime) -> None:
    if not repository.mark_payment_released(session, row.id, now):
        session.refresh(row)
        return
    assert row.ledger_transaction_id is not None
    entry = ledger.restore(
        session,
        row.customer_id,
        f"points_payment:{row.id}:restore",
        row.ledger_transaction_id,
        reasons=Reasons(programme_version=row.programme_version, rule="points_payment"),
        now=now,
    )
    session.refresh(row)
    row.restore_transaction_id = entry.transaction_id
    session.flush()


def order_cancelled(session: Session, order: Order) -> None:
    """An order.cancelled event: return the points the order paid with, if any."""
    row = repository.payment_of_order(session, order.source, order.external_id)
    if row is not None and row.status == "active":
        _release(session, row, utc_now())
