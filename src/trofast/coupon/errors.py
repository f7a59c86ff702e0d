"""Errors of the coupon domain.

AppError
├── NotFound (404)
│   ├── UnknownOrInvalidCoupon      unknown_or_invalid (unknown, disabled or someone else's)
│   ├── CouponNotFound              coupon_not_found (admin lookup by id)
│   ├── CustomerNotFound            customer_not_found
│   └── RedemptionNotFound          redemption_not_found
├── Conflict (409)
│   ├── CouponRejected              the reason code: expired, not_yet_valid, already_used,
│   │                               limit_reached, customer_required, customer_limit_reached,
│   │                               currency_not_allowed, channel_not_allowed,
│   │                               category_not_allowed, minimum_not_met, product_not_in_cart
│   ├── RedemptionReleased          redemption_released
│   ├── CodeTaken                   code_taken
│   └── EmptyValidityWindow         empty_validity_window (valid_until not after valid_from)
└── TooManyRequests (429)
    └── TooManyInvalidCodes         too_many_invalid_codes (with Retry-After)
"""

from __future__ import annotations

from trofast.errors import AppError, Conflict, NotFound, TooManyRequests


class UnknownOrInvalidCoupon(NotFound):
    default_code = "unknown_or_invalid"


class CouponNotFound(NotFound):
    default_code = "coupon_not_found"


class CustomerNotFound(NotFound):
    default_code = "customer_not_found"


class RedemptionNotFound(NotFound):
    default_code = "redemption_not_found"


class CouponRejected(Conflict):
    """The code exists but cannot be used here; `code` is the reason (see `rules.REASONS`)."""

    default_code = "coupon_rejected"


class RedemptionReleased(Conflict):
    """This order's use of the code was released (cancelled order); it is not redeemed again."""

    default_code = "redemption_released"


class CodeTaken(Conflict):
    default_code = "code_taken"


class EmptyValidityWindow(Conflict):
    # 409 rather than 400: the body is well-formed, its two dates contradict each other.
    default_code = "empty_validity_window"


class TooManyInvalidCodes(TooManyRequests):
    default_code = "too_many_invalid_codes"


def rejection(reason: str) -> AppError:
    """The error that refuses a redemption for `reason`."""
    if reason == "unknown_or_invalid":
        return UnknownOrInvalidCoupon("no usable coupon has this code")
    return CouponRejected(f"this coupon cannot be used: {reason}", code=reason)
