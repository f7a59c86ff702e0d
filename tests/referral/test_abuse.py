"""Each abuse rule blocks with its exact reason; admins block and approve."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import refund_body
from tests.program.conftest import Ingest
from tests.referral.conftest import (
    REFERRER_EMAIL,
    REFERRER_PHONE,
    WINDOW,
    balance,
    customer_event,
    customer_id,
    paid_order,
    recent,
    referral_of,
)
from trofast.models import ReferralWeek
from trofast.referral import flow, service
from trofast.referral.errors import FirstOrderReturned, ReferralCompleted, ReferralNotFound

ADDRESS = {"line1": "Storgata 1 B", "postal_code": "0155", "city": "Oslo", "country": "NO"}


def test_own_code_is_self_referral(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event(REFERRER_EMAIL, code=code, key="again, with my own code"))

    referral = referral_of(db_session, referrer)
    assert (referral.status, referral.reason, referral.referrer_id) == (
        "blocked",
        "self_referral",
        referrer,
    )
    assert balance(db_session, referrer) == (0, 0)  # no welcome either


@pytest.mark.parametrize(
    "email",
    [
        "k.a.r.i.nordmann@gmail.com",  # dots
        "kari.nordmann+friend@gmail.com",  # plus-addressing
        "KariNordmann+x@googlemail.com",  # Gmail's other domain, case
    ],
)
def test_same_email_modulo_dots_and_plus_is_self_referral(
    db_session: Session, referrer: int, code: str, ingest: Ingest, email: str
) -> None:
    ingest(customer_event(email, code=code))

    friend = customer_id(db_session, email.lower())
    referral = referral_of(db_session, friend)
    assert (referral.status, referral.reason) == ("blocked", "self_referral_email")
    assert balance(db_session, friend) == (0, 0)


def test_plus_addressing_is_normalised_on_every_domain(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    owner = ingest(customer_event("per@butikk.no", key="per"))[0]["customer_id"]
    code = service.code_for(db_session, owner)

    ingest(customer_event("p.e.r+2@butikk.no", code=code))

    friend = customer_id(db_session, "p.e.r+2@butikk.no")
    assert referral_of(db_session, friend).reason == "self_referral_email"


def test_same_phone_is_self_referral(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    # The referrer's +47 912 34 567 written the local way: the phone is one of the referrer's
    # identities, so the "friend" is the referrer (the phone rule then covers phones that
    # are on two customers, see test_rules.py).
    ingest(customer_event("someone.else@example.no", phone="912 34 567", code=code))

    assert customer_id(db_session, "someone.else@example.no") == referrer
    referral = referral_of(db_session, referrer)
    assert (referral.status, referral.reason) == ("blocked", "self_referral")
    assert REFERRER_PHONE == "+4791234567"


def test_same_delivery_address_blocks_at_the_first_order(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(paid_order("K1", REFERRER_EMAIL, recent(40), shipping_address=ADDRESS))
    ingest(customer_event("ola@example.no", code=code))
    friend = customer_id(db_session, "ola@example.no")
    assert referral_of(db_session, friend).status == "pending"

    same = {"line1": "storgata 1b", "postal_code": "0155", "city": "OSLO", "country": "no"}
    ingest(paid_order("F1", "ola@example.no", recent(WINDOW + 1), shipping_address=same))

    referral = referral_of(db_session, friend)
    assert (referral.status, referral.reason) == ("blocked", "self_referral_address")
    assert balance(db_session, referrer)[1] == 1178  # the referrer's own order only


def test_another_address_passes(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(paid_order("K1", REFERRER_EMAIL, recent(40), shipping_address=ADDRESS))
    ingest(customer_event("ola@example.no", code=code))

    other = {**ADDRESS, "line1": "Storgata 3"}
    ingest(paid_order("F1", "ola@example.no", recent(WINDOW + 1), shipping_address=other))

    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))
    assert (referral.status, referral.reason) == ("completed", None)


def test_same_payment_fingerprint_blocks_at_the_first_order(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(paid_order("K1", REFERRER_EMAIL, recent(40), payment_fingerprint="fp_Xa91"))
    ingest(customer_event("ola@example.no", code=code))

    ingest(paid_order("F1", "ola@example.no", recent(WINDOW + 1), payment_fingerprint="fp_Xa91"))

    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))
    assert (referral.status, referral.reason) == ("blocked", "self_referral_payment")
    assert balance(db_session, referrer)[1] == 1178


def test_a_customer_known_before_the_code_is_not_new(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event("ola@example.no", key="signed up last year"))

    ingest(customer_event("ola@example.no", code=code))

    friend = customer_id(db_session, "ola@example.no")
    assert (referral_of(db_session, friend).status, referral_of(db_session, friend).reason) == (
        "blocked",
        "friend_not_new",
    )
    assert balance(db_session, friend) == (0, 0)


def test_a_customer_with_orders_is_not_new(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(paid_order("F0", "ola@example.no", recent(100)))

    ingest(paid_order("F1", "ola@example.no", recent(1), referral_code=code))

    friend = customer_id(db_session, "ola@example.no")
    assert referral_of(db_session, friend).reason == "friend_not_new"


def _due_friend(
    session: Session, ingest: Ingest, code: str, n: int, paid_at: datetime
) -> tuple[int, datetime]:
    email = f"friend{n}@example.no"
    ingest(customer_event(email, code=code))
    ingest(paid_order(f"F{n}", email, paid_at.isoformat()))
    referral = referral_of(session, customer_id(session, email))
    assert referral.due_at is not None
    return referral.id, referral.due_at


def test_velocity_cap_per_referrer_and_week(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    # Three first orders paid at one moment come due in one week (the cap is 2); a fourth,
    # paid a week later, comes due the week after.
    paid_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    ids = [_due_friend(db_session, ingest, code, n, paid_at) for n in range(3)]
    later = _due_friend(db_session, ingest, code, 3, paid_at + timedelta(days=7))
    due = ids[0][1]

    assert flow.complete_due(db_session, later[1]) == 3

    statuses = [
        (r.status, r.reason) for r in (service.referrals_of(db_session, referrer, 10))[::-1]
    ]
    assert statuses == [
        ("completed", None),
        ("completed", None),
        ("blocked", "velocity_cap"),
        ("completed", None),
    ]
    assert balance(db_session, referrer) == (0, 1500)
    weeks = db_session.execute(select(ReferralWeek.week, ReferralWeek.rewarded)).all()
    monday: date = due.date() - timedelta(days=due.weekday())
    assert sorted((w, n) for w, n in weeks) == [(monday, 2), (monday + timedelta(days=7), 1)]


def test_admin_block_stops_the_reward(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    referral_id, due = _due_friend(db_session, ingest, code, 1, datetime.now(UTC))

    blocked = service.block(db_session, referral_id, "known fraud ring", api_key_id=None)

    assert (blocked.status, blocked.reason, blocked.note) == (
        "blocked",
        "blocked_by_admin",
        "known fraud ring",
    )
    assert flow.complete_due(db_session, due + timedelta(days=1)) == 0
    assert balance(db_session, referrer) == (0, 0)


def test_admin_approval_overrides_a_rule_and_gives_what_was_held_back(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    twin = "kari.nordmann+twin@gmail.com"
    ingest(customer_event(twin, code=code))
    ingest(paid_order("F1", twin, recent(WINDOW + 1)))
    friend = customer_id(db_session, twin)
    referral = referral_of(db_session, friend)
    assert (referral.reason, balance(db_session, friend)) == ("self_referral_email", (0, 1178))

    approved = service.approve(
        db_session, referral.id, "her sister, checked", api_key_id=None, currency="NOK"
    )

    assert (approved.status, approved.reason, approved.approved) == ("completed", None, True)
    assert balance(db_session, friend) == (0, 1178 + 200)
    assert balance(db_session, referrer) == (0, 500)


def test_approval_cannot_revive_a_returned_first_order(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event("ola@example.no", code=code))
    ingest(
        paid_order("F1", "ola@example.no", recent(2)),
        {
            "idempotency_key": "cancel:F1",
            "type": "order.cancelled",
            "occurred_at": recent(1),
            "order_id": "F1",
        },
    )
    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))

    with pytest.raises(FirstOrderReturned):
        service.approve(db_session, referral.id, "please", api_key_id=None, currency="NOK")
    assert referral_of(db_session, referral.friend_id).reason == "first_order_cancelled"


def test_approval_cannot_revive_a_first_order_cancelled_after_an_admin_block(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    # The admin's block replaces the reason; the order is cancelled while it is blocked.
    ingest(customer_event("ola@example.no", code=code))
    ingest(paid_order("F1", "ola@example.no", recent(2)))
    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))
    service.block(db_session, referral.id, "checking", api_key_id=None)
    ingest(
        {
            "idempotency_key": "cancel:F1",
            "type": "order.cancelled",
            "occurred_at": recent(1),
            "order_id": "F1",
        }
    )

    with pytest.raises(FirstOrderReturned), db_session.begin_nested():
        service.approve(db_session, referral.id, "please", api_key_id=None, currency="NOK")

    after = referral_of(db_session, referral.friend_id)
    assert (after.status, after.reason, after.approved) == ("blocked", "blocked_by_admin", False)


def test_approval_refused_when_the_earliest_paid_order_was_returned_gives_no_welcome(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    # Blocked on arrival (no welcome); the approval would take the refunded order as first.
    twin = "kari.nordmann+twin@gmail.com"
    ingest(customer_event(twin, code=code))
    ingest(paid_order("F1", twin, recent(2)), refund_body("F1"))
    friend = customer_id(db_session, twin)
    before = balance(db_session, friend)

    with pytest.raises(FirstOrderReturned), db_session.begin_nested():
        service.approve(
            db_session,
            referral_of(db_session, friend).id,
            "sister",
            api_key_id=None,
            currency="NOK",
        )

    referral = referral_of(db_session, friend)
    assert (referral.status, referral.reason, referral.approved) == (
        "blocked",
        "self_referral_email",
        False,
    )
    assert (referral.welcome_transaction_id, referral.first_order_id) == (None, None)
    assert balance(db_session, friend) == before


def test_a_completed_referral_cannot_be_blocked_or_approved(
    db_session: Session, referrer: int, code: str, ingest: Ingest
) -> None:
    ingest(customer_event("ola@example.no", code=code))
    ingest(paid_order("F1", "ola@example.no", recent(WINDOW + 1)))
    referral = referral_of(db_session, customer_id(db_session, "ola@example.no"))
    assert referral.status == "completed"

    with pytest.raises(ReferralCompleted):
        service.block(db_session, referral.id, "too late", api_key_id=None)
    with pytest.raises(ReferralCompleted):
        service.approve(db_session, referral.id, "again", api_key_id=None, currency="NOK")
    assert referral_of(db_session, referral.friend_id).status == "completed"
    assert balance(db_session, referrer) == (0, 500)


def test_unknown_referral(db_session: Session, programme: int) -> None:
    with pytest.raises(ReferralNotFound):
        service.block(db_session, 999_999, "x", api_key_id=None)
