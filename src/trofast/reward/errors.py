"""Errors of the rewards domain (the ledger's `InsufficientPoints` and `IdempotencyConflict`
are raised as they are).

AppError
├── NotFound (404)
│   ├── RewardNotFound               reward_not_found (not in the programme in force)
│   ├── RedemptionNotFound           reward_redemption_not_found
│   └── PointsPaymentNotFound        points_payment_not_found
└── Conflict (409)
    ├── RewardUnavailable            the reason: not_a_member, not_yet_available,
    │                                no_longer_available, tier_required, out_of_stock,
    │                                limit_reached, member_limit_reached
    ├── RedemptionUsed               redemption_used (its coupon has been used)
    ├── RedemptionFulfilled          redemption_fulfilled (a custom reward handed over)
    ├── NotCustomReward              not_a_custom_reward (fulfilment of a coupon reward)
    └── PointsPaymentRefused         the reason: points_payment_disabled,
                                     currency_not_allowed, channel_not_allowed, below_minimum,
                                     above_maximum, above_order_share
"""

from __future__ import annotations

from trofast.errors import Conflict, NotFound


class RewardNotFound(NotFound):
    default_code = "reward_not_found"


class RedemptionNotFound(NotFound):
    default_code = "reward_redemption_not_found"


class PointsPaymentNotFound(NotFound):
    default_code = "points_payment_not_found"


class RewardUnavailable(Conflict):
    """The member cannot have this reward now; `code` is the reason (see `eligibility`)."""

    default_code = "reward_unavailable"


class RedemptionUsed(Conflict):
    default_code = "redemption_used"


class RedemptionFulfilled(Conflict):
    default_code = "redemption_fulfilled"


class NotCustomReward(Conflict):
    default_code = "not_a_custom_reward"


class PointsPaymentRefused(Conflict):
    """Points cannot pay for this order as asked; `code` is the reason (see `quote`)."""

    default_code = "points_payment_refused"
