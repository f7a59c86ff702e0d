"""What redeeming each kind of reward issues: a registry from kind to handler.

The discount kinds issue a single-use coupon owned by the member, of the same discount kind
(origin `reward_redemption`, pointing back at the redemption and its ledger transaction);
`custom` issues no coupon but a fulfilment `requested` that an admin moves on. Adding a kind
is one model in `trofast.program.catalogue` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from trofast.coupon import service as coupons
from trofast.coupon.schemas import CouponIn
from trofast.models import Coupon, RewardRedemption
from trofast.program.catalogue import (
    CouponReward,
    FixedAmountReward,
    FreeProductReward,
    PercentReward,
    Reward,
)


@dataclass(frozen=True, slots=True)
class Issued:
    coupon: Coupon | None
    fulfilment: str | None


Issuer = Callable[[Session, Any, RewardRedemption, str, datetime], Issued]


def _coupon(discount: Callable[[Any], dict[str, Any]]) -> Issuer:
    def issue(
        session: Session, reward: CouponReward, row: RewardRedemption, currency: str, now: datetime
    ) -> Issued:
        spec = CouponIn.model_validate(
            {
                "discount": discount(reward),
                "max_uses": 1,
                "valid_from": now,
                "valid_until": now + timedelta(days=reward.coupon_valid_days),
                "min_order_minor": reward.min_order_minor,
                "channels": list(reward.channels),
                "campaign": f"reward:{reward.id}",
                "owner_customer_id": row.customer_id,
            }
        )
        coupon = coupons.create(
            session,
            spec,
            currency=currency,
            origin="reward_redemption",
            origin_ref=f"reward_redemption:{row.id}",
            ledger_transaction_id=row.ledger_transaction_id,
        )
        return Issued(coupon, None)

    return issue


def _fixed(reward: FixedAmountReward) -> dict[str, Any]:
    return {"kind": "fixed_amount", "amount_minor": reward.amount_minor}


def _percent(reward: PercentReward) -> dict[str, Any]:
    return {
        "kind": "percent",
        "percent": reward.percent,
        "max_amount_minor": reward.max_amount_minor,
    }


def _free_product(reward: FreeProductReward) -> dict[str, Any]:
    return {"kind": "free_product", "sku": reward.sku}


def _fulfilment(
    _session: Session, _reward: Any, _row: RewardRedemption, _currency: str, _now: datetime
) -> Issued:
    return Issued(None, "requested")


ISSUERS: dict[str, Issuer] = {
    "fixed_amount": _coupon(_fixed),
    "percent": _coupon(_percent),
    "free_shipping": _coupon(lambda _reward: {"kind": "free_shipping"}),
    "free_product": _coupon(_free_product),
    "custom": _fulfilment,
}


def issue(
    session: Session, reward: Reward, row: RewardRedemption, currency: str, now: datetime
) -> Issued:
    return ISSUERS[reward.kind](session, reward, row, currency, now)
