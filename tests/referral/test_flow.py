"""A referral from the friend's arrival to the referrer's reward, through ingestion."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import refund_body, shipment_body
from tests.program.conftest import Ingest
from tests.referral.conftest import (
    WINDOW,
    balance,
    customer_event,
    customer_id,
    paid_order,
    recent,
    referral_of,
)
from trofast.ledger.verify import verify
from trofast.models import Coupon, LedgerTransaction, Referral
from trofast.program import service as programmes
from trofast.referral import flow, service

FRIEND = "ola@example.no"


def _referral_keys(session: Session) -> list[str]:
    rows = session.scalars(
        select(LedgerTransaction.idempotency_key)
        .where(LedgerTransaction.idempotency_key.like("referral:%"))
        .order_by(LedgerTransaction.id)
    )
    return list(rows)


def test_happy_path_welcome_at_once_referrer_after_the_return_window(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    friend = customer_id(db_session, FRIEND)

    # The friend's welcome points are available at once; nothing for the referrer yet.
    referral = referral_of(db_session, friend)
    assert (referral.status, referral.reason, referral.referrer_id) == ("pending", None, referrer)
    assert balance(db_session, friend) == (0, 200)
    assert balance(db_session, referrer) == (0, 0)

    paid_at = recent(2)
    ingest(paid_order("F1", FRIEND, paid_at))

    due = datetime.fromisoformat(paid_at) + timedelta(days=WINDOW)
    referral = referral_of(db_session, friend)
    assert (referral.status, referral.due_at) == ("pending", due)
    assert referral.first_order_id is not None
    assert flow.complete_due(db_session, due - timedelta(seconds=1)) == 0
    assert balance(db_session, referrer) == (0, 0)

    assert flow.complete_due(db_session, due) == 1

    referral = referral_of(db_session, friend)
    assert (referral.status, referral.completed_at) == ("completed", due)
    assert balance(db_session, referrer) == (0, 500)
    reward = db_session.get(LedgerTransaction, referral.reward_transaction_id)
    assert reward is not None
    assert (reward.rule, reward.order_id, reward.effective_at) == (
        "referral",
        referral.first_order_id,
        due,
    )
    assert _referral_keys(db_session) == [
        f"referral:{referral.id}:welcome",
        f"referral:{referral.id}:referrer",
    ]
    assert verify(db_session) == []


def test_a_first_order_past_its_window_rewards_in_the_same_event(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))

    ingest(paid_order("F1", FRIEND, recent(WINDOW + 1)))

    referral = referral_of(db_session, customer_id(db_session, FRIEND))
    assert referral.status == "completed"
    assert balance(db_session, referrer) == (0, 500)


def test_a_code_on_the_first_order_attributes_and_claims_that_order(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    paid_at = recent(1)
    # Typed by a person: lower case, no dash.
    results = ingest(paid_order("F1", FRIEND, paid_at, referral_code=code.lower()))

    referral = referral_of(db_session, results[0]["customer_id"])
    assert (referral.status, referral.first_order_id) == ("pending", results[0]["order_id"])
    assert referral.due_at == datetime.fromisoformat(paid_at) + timedelta(days=WINDOW)
    # 1,178 points of the order, pending; the welcome's 200 available.
    assert balance(db_session, results[0]["customer_id"]) == (1178, 200)


def test_a_delivery_starts_the_return_window_again(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    ingest(paid_order("F1", FRIEND, recent(3)))
    delivered_at = recent(1)
    shipment = shipment_body("F1")
    shipment["shipment"]["delivered_at"] = delivered_at

    ingest(shipment)

    referral = referral_of(db_session, customer_id(db_session, FRIEND))
    assert referral.due_at == datetime.fromisoformat(delivered_at) + timedelta(days=WINDOW)


def test_a_returned_first_order_rewards_nobody(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    paid_at = recent(2)
    ingest(paid_order("F1", FRIEND, paid_at), refund_body("F1"))

    referral = referral_of(db_session, customer_id(db_session, FRIEND))
    assert (referral.status, referral.reason) == ("blocked", "first_order_returned")
    due = datetime.fromisoformat(paid_at) + timedelta(days=WINDOW)
    assert flow.complete_due(db_session, due + timedelta(days=30)) == 0
    assert balance(db_session, referrer) == (0, 0)
    assert _referral_keys(db_session) == [f"referral:{referral.id}:welcome"]


def test_a_cancelled_first_order_rewards_nobody(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    ingest(
        paid_order("F1", FRIEND, recent(2)),
        {
            "idempotency_key": "cancel:F1",
            "type": "order.cancelled",
            "occurred_at": recent(1),
            "order_id": "F1",
        },
    )

    referral = referral_of(db_session, customer_id(db_session, FRIEND))
    assert (referral.status, referral.reason) == ("blocked", "first_order_cancelled")
    assert flow.complete_due(db_session, datetime.fromisoformat(recent(-60))) == 0
    assert balance(db_session, referrer) == (0, 0)


def test_only_the_first_order_counts(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    first = ingest(paid_order("F1", FRIEND, recent(3)))[0]["order_id"]

    # The second order is returned: it was never the first, so the referral stands.
    ingest(paid_order("F2", FRIEND, recent(2)), refund_body("F2"))

    referral = referral_of(db_session, customer_id(db_session, FRIEND))
    assert (referral.status, referral.first_order_id) == ("pending", first)


def test_duplicate_and_repeated_events_reward_once(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    arrival = customer_event(FRIEND, code=code)
    ingest(arrival, arrival)  # the same event twice
    ingest(customer_event(FRIEND, code=code, key="a later upsert with the code"))
    order = paid_order("F1", FRIEND, recent(WINDOW + 2))
    ingest(order, order)
    ingest(paid_order("F1", FRIEND, recent(WINDOW + 2), key="replayed", financial_status="paid"))
    friend = customer_id(db_session, FRIEND)
    due = referral_of(db_session, friend).due_at
    assert due is not None

    assert flow.complete_due(db_session, due + timedelta(days=1)) == 0
    assert flow.complete_due(db_session, due + timedelta(days=2)) == 0

    referral = referral_of(db_session, friend)
    assert referral.status == "completed"
    assert len(db_session.scalars(select(Referral)).all()) == 1
    assert balance(db_session, friend)[1] == 200 + 1178
    assert balance(db_session, referrer) == (0, 500)
    assert _referral_keys(db_session) == [
        f"referral:{referral.id}:welcome",
        f"referral:{referral.id}:referrer",
    ]


def test_a_second_code_does_not_move_the_friend(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code=code))
    other = ingest(customer_event("per@example.no", key="per"))[0]["customer_id"]
    other_code = service.code_for(db_session, other)

    ingest(customer_event(FRIEND, code=other_code, key="second code"))

    assert referral_of(db_session, customer_id(db_session, FRIEND)).referrer_id == referrer


def test_unknown_code_records_nothing(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(FRIEND, code="NOSUCHCODE"))

    assert db_session.scalars(select(Referral)).all() == []
    assert balance(db_session, customer_id(db_session, FRIEND)) == (0, 0)


def test_without_a_referrals_section_codes_are_ignored(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    programmes.apply(db_session, "name: Plain\ncurrency: NOK\n")

    ingest(customer_event(FRIEND, code=code))

    assert db_session.scalars(select(Referral)).all() == []


def test_the_welcome_reward_may_be_a_coupon(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    programmes.apply(
        db_session,
        """
name: Coupon club
currency: NOK
referrals:
  welcome: {coupon: {discount: {kind: fixed_amount, amount_minor: 10000}, valid_days: 30}}
  referrer_points: 500
""",
    )

    ingest(customer_event(FRIEND, code=code))

    friend = customer_id(db_session, FRIEND)
    referral = referral_of(db_session, friend)
    coupon = db_session.get(Coupon, referral.welcome_coupon_id)
    assert coupon is not None
    assert (coupon.owner_customer_id, coupon.origin, coupon.origin_ref) == (
        friend,
        "referral_welcome",
        f"referral:{referral.id}",
    )
    assert (coupon.kind, coupon.discount, coupon.max_uses) == (
        "fixed_amount",
        {"amount_minor": 10000},
        1,
    )
    assert coupon.valid_until == referral.created_at + timedelta(days=30)
    assert balance(db_session, friend) == (0, 0)
