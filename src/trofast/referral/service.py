"""Referral use cases: a member's code and link, a friend's arrival, the admin's decisions.

A friend arrives through the canonical API (`customer.upserted` or an order with
`referral_code`). The referral is recorded once per friend, pending or blocked by the first
arrival rule that fires; a pending one gives the friend the welcome reward at once. What
happens after, with the friend's first order, is in `flow.py`. Services only flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from trofast.coupon import service as coupons
from trofast.coupon.schemas import CouponIn
from trofast.customer import identity
from trofast.ingest.schemas import CustomerIn, OrderIn
from trofast.kit.time import utc_now
from trofast.ledger import service as ledger
from trofast.ledger.core import Reasons
from trofast.member.errors import MemberNotFound
from trofast.models import Referral
from trofast.program.document import Referrals
from trofast.program.service import Active, active
from trofast.referral import codes, flow, repository, rules, signals
from trofast.referral.errors import FirstOrderReturned, ReferralCompleted, ReferralNotFound

# Two members drawing the same 50-bit code is a once-in-a-lifetime event; a few attempts
# make it a non-event without a loop that could spin.
_ATTEMPTS = 5
_RETURNED = ("first_order_cancelled", "first_order_returned")


@dataclass(frozen=True, slots=True)
class Arrival:
    """A code seen on an event, with what was known of the customer before the event."""

    code: str  # normalised
    known_before: bool


def code_for(session: Session, customer_id: int, now: datetime | None = None) -> str:
    """The member's code, created on first use (concurrent first uses agree on one)."""
    found = repository.code_of(session, customer_id)
    if found is not None:
        return found
    if not repository.customer_exists(session, customer_id):
        raise MemberNotFound(f"no member {customer_id}")
    for _ in range(_ATTEMPTS):
        repository.insert_code(session, customer_id, codes.generate(), now or utc_now())
        found = repository.code_of(session, customer_id)
        if found is not None:
            return found
    raise AssertionError("five referral codes in a row were taken")


def link(public_url: str | None, code: str) -> str | None:
    return f"{public_url.rstrip('/')}/r/{code}" if public_url else None


def referrals_of(session: Session, referrer_id: int, limit: int) -> Sequence[Referral]:
    return repository.of_referrer(session, referrer_id, limit)


def arriving(
    session: Session, source: str, customer: CustomerIn, code: str | None
) -> Arrival | None:
    """Call before the customer is resolved: whether they existed is the `friend_not_new` fact."""
    if code is None:
        return None
    return Arrival(codes.normalise(code), identity.known(session, source, customer))


def record_signals(session: Session, order_id: int, snapshot: OrderIn) -> None:
    found: dict[str, str] = {}
    if snapshot.shipping_address is not None:
        found["address"] = signals.address_fingerprint(snapshot.shipping_address)
    if snapshot.payment_fingerprint is not None:
        found["payment"] = signals.payment_fingerprint(snapshot.payment_fingerprint)
    if found:
        repository.save_signals(session, order_id, found)


def attribute(
    session: Session,
    arrival: Arrival,
    friend_id: int,
    *,
    order_id: int | None,
    event_id: int | None,
    currency: str,
    now: datetime,
) -> Referral | None:
    """Record the friend as referred by the code's owner; None if there is nothing to record.

    Nothing is recorded without a `referrals` section in the programme or for an unknown
    code. A friend already referred keeps their first referral (a replay or a second code
    changes nothing).
    """
    program = active(session)
    if program is None or program.programme.referrals is None:
        return None
    referrer_id = repository.owner_of_code(session, arrival.code)
    if referrer_id is None:
        return None
    existing = repository.of_friend(session, friend_id)
    if existing is not None:
        return existing
    reason = rules.first_arrival_reason(
        rules.ArrivalFacts(
            referrer_id=referrer_id,
            friend_id=friend_id,
            referrer_emails=_emails(session, referrer_id),
            friend_emails=_emails(session, friend_id),
            referrer_phones=frozenset(repository.identities(session, referrer_id, "phone")),
            friend_phones=frozenset(repository.identities(session, friend_id, "phone")),
            friend_existed=arrival.known_before,
            friend_has_orders=repository.has_other_orders(session, friend_id, order_id),
        )
    )
    new_id = repository.insert_referral(
        session,
        {
            "referrer_id": referrer_id,
            "friend_id": friend_id,
            "code": arrival.code,
            "status": "blocked" if reason else "pending",
            "reason": reason,
            "approved": False,
            "event_id": event_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    if new_id is None:  # a concurrent delivery recorded this friend first
        return repository.of_friend(session, friend_id)
    referral = repository.lock(session, new_id)
    assert referral is not None
    if reason is None:
        welcome(session, program, referral, currency=currency, now=now)
    return referral


def _emails(session: Session, customer_id: int) -> frozenset[str]:
    return frozenset(
        signals.canonical_email(e) for e in repository.identities(session, customer_id, "email")
    )


def welcome(
    session: Session, program: Active, referral: Referral, *, currency: str, now: datetime
) -> None:
    """Give the friend the welcome reward, once (the caller holds the referral's lock)."""
    settings: Referrals | None = program.programme.referrals
    if settings is None or settings.welcome is None:
        return
    if referral.welcome_transaction_id is not None or referral.welcome_coupon_id is not None:
        return
    reward = settings.welcome
    if reward.points is not None:
        entry = ledger.earn(
            session,
            referral.friend_id,
            f"referral:{referral.id}:welcome",
            reward.points,
            expires_at=flow.expires_at(program.programme, now),
            reasons=Reasons(referral.event_id, None, program.version, "referral_welcome"),
            now=now,
        )
        referral.welcome_transaction_id = entry.transaction_id
    elif reward.coupon is not None:
        spec = CouponIn(
            discount=reward.coupon.discount,
            max_uses=1,
            valid_until=now + timedelta(days=reward.coupon.valid_days),
            min_order_minor=reward.coupon.min_order_minor,
            campaign="referral-welcome",
            owner_customer_id=referral.friend_id,
        )
        coupon = coupons.create(
            session,
            spec,
            currency=currency,
            origin="referral_welcome",
            origin_ref=f"referral:{referral.id}",
        )
        referral.welcome_coupon_id = coupon.id
    session.flush()


def _locked(session: Session, referral_id: int) -> Referral:
    referral = repository.lock(session, referral_id)
    if referral is None:
        raise ReferralNotFound(f"no referral {referral_id}")
    return referral


def block(session: Session, referral_id: int, note: str, *, api_key_id: int | None) -> Referral:
    """An admin blocks a referral that has not rewarded the referrer yet."""
    referral = _locked(session, referral_id)
    if referral.status == "completed":
        raise ReferralCompleted("the referrer was rewarded already; adjust the ledger instead")
    now = utc_now()
    referral.status, referral.reason, referral.note = "blocked", "blocked_by_admin", note
    referral.approved = False
    referral.decided_by_key_id = api_key_id
    referral.updated_at = now
    session.flush()
    return referral


def approve(
    session: Session, referral_id: int, note: str, *, api_key_id: int | None, currency: str
) -> Referral:
    """An admin approves a referral: the abuse rules and the weekly cap no longer apply.

    A blocked referral becomes pending again and the friend gets the welcome reward if they
    did not yet; with a first order past its return window the referrer is rewarded at once.
    A referral whose first order was cancelled or returned is refused (`FirstOrderReturned`):
    there is no order to reward. That first order is the one it claimed, or the friend's
    earliest paid order that the approval claims; the refusal comes after the writes, so the
    unit of work rolls back the approval and the welcome with it.
    """
    referral = _locked(session, referral_id)
    if referral.status == "completed":
        raise ReferralCompleted("the referrer was rewarded already")
    if referral.reason in _RETURNED:
        raise FirstOrderReturned(
            "the friend's first order was cancelled or returned", detail={"reason": referral.reason}
        )
    now = utc_now()
    referral.status, referral.reason, referral.note = "pending", None, note
    referral.approved = True
    referral.decided_by_key_id = api_key_id
    referral.updated_at = now
    session.flush()
    program = active(session)
    if program is not None and program.programme.referrals is not None:
        welcome(session, program, referral, currency=currency, now=now)
        flow.recheck(session, program, referral, now)
        # An approved referral is past the abuse rules and the cap, so only its first order
        # blocks it here: cancelled or refunded while an admin's block hid the reason, or the
        # earliest paid order, refunded. Answering 200 would report an approval that did not
        # happen and keep the welcome points it gave.
        if referral.status == "blocked":
            raise FirstOrderReturned(
                "the friend's first order was cancelled or returned",
                detail={"reason": referral.reason},
            )
    return referral
