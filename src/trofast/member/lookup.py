"""The till's member lookup: one identity in (phone, e-mail, card or QR), one member out.

Each selector is normalised the way identities are stored (E.164 phone, lower-case e-mail),
then found with one probe of the identities' UNIQUE index. Whatever is not a member, for
whatever reason (unknown, malformed, forged QR, a customer who never joined an opt-in
programme), answers the same `member_not_found`, so a till learns "member or not", no more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import phonenumbers
from sqlalchemy.orm import Session

from trofast.coupon import service as coupons
from trofast.ingest.types import DEFAULT_PHONE_REGION, normalise_email, normalise_phone
from trofast.ledger import queries
from trofast.member import repository, tokens
from trofast.member.errors import (
    InvalidMemberToken,
    MemberNotFound,
    MemberTokenExpired,
    QrExpired,
)
from trofast.member.schemas import (
    BalanceBrief,
    LevelBrief,
    TillCoupon,
    TillMember,
    TillReward,
)
from trofast.models import Customer
from trofast.program import ladder, tiers
from trofast.program.catalogue import CouponReward, Reward
from trofast.program.service import Active, active, is_member
from trofast.reward import service as reward_service
from trofast.reward.eligibility import Standing


def _phone(raw: str) -> str | None:
    try:
        return normalise_phone(raw, DEFAULT_PHONE_REGION)
    except (ValueError, phonenumbers.NumberParseException):
        return None


def _email(raw: str) -> str | None:
    value = normalise_email(raw)
    return value if "@" in value else None


def _card(raw: str) -> str | None:
    return raw.strip() or None


# Selector → how its value is stored in `customer_identities`.
NORMALISERS: dict[str, Callable[[str], str | None]] = {
    "phone": _phone,
    "email": _email,
    "card": _card,
}
SELECTORS = (*NORMALISERS, "qr")


def find(session: Session, selector: str, raw: str, *, secret: bytes, now: datetime) -> TillMember:
    """The member the selector names, as the till sees it; raises `MemberNotFound` (or
    `QrExpired`). One unit of work holds the customer row throughout (the identity map
    keeps only referenced objects), so it is read once."""
    customer = _identify(session, selector, raw, secret, now)
    program = active(session)
    if customer is None or not (
        is_member(program.programme, customer) if program else customer.is_member
    ):
        raise MemberNotFound(f"no member with this {selector}")
    return _view(session, customer, program, now)


def _identify(
    session: Session, selector: str, raw: str, secret: bytes, now: datetime
) -> Customer | None:
    if selector == "qr":
        try:
            customer_id = tokens.read_qr(secret, raw, int(now.timestamp()))
        except MemberTokenExpired:
            raise QrExpired("this QR code expired; open the member page for a new one") from None
        except InvalidMemberToken:
            return None  # forged or malformed: as unknown as any other miss
        return repository.get_customer(session, customer_id)
    value = NORMALISERS[selector](raw)
    return repository.identity_holder(session, selector, value) if value else None


def _for_stores(reward: Reward) -> bool:
    channels = reward.channels if isinstance(reward, CouponReward) else []
    return not channels or "store" in channels


def _view(
    session: Session, customer: Customer, program: Active | None, now: datetime
) -> TillMember:
    pending, available = queries.pending_and_available(session, customer.id)
    level = ladder.current_level(session, program, customer.id)
    usable = [
        coupon
        for coupon, ok in coupons.member_coupons(session, customer.id, known=True)
        # The till sells in a store: a web-only coupon is of no use there.
        if ok and (not coupon.channels or "store" in coupon.channels)
    ]
    rewards = []
    if program is not None and program.programme.rewards:
        rules = program.programme.tiers
        standing = Standing(
            is_member=True,  # `find` let only members through
            level_rank=tiers.rank(rules, level) if rules is not None and level else 0,
        )
        offers = reward_service.offers_for(session, program, customer.id, standing, available, now)
        rewards = [
            TillReward(id=o.reward.id, name=o.reward.name, kind=o.reward.kind, cost=o.reward.cost)
            for o in offers
            if o.reason is None and _for_stores(o.reward)
        ]
    return TillMember(
        member_id=customer.id,
        first_name=customer.first_name,
        last_initial=customer.last_name[:1].upper() if customer.last_name else None,
        enrolled_at=customer.enrolled_at,
        balance=BalanceBrief(pending=pending, available=available),
        tier=LevelBrief(id=level.id, name=level.name) if level else None,
        rewards=rewards,
        coupons=[
            TillCoupon.model_validate(
                {
                    "id": coupon.id,
                    "code": coupon.display,
                    "discount": {**coupon.discount, "kind": coupon.kind},
                    "currency": coupon.currency,
                    "valid_until": coupon.valid_until,
                    "min_order_minor": coupon.min_order_minor,
                    "categories": coupon.categories,
                }
            )
            for coupon in usable
        ],
    )
