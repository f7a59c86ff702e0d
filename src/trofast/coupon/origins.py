"""Why a coupon exists, and what happens elsewhere when one of its uses is released.

Each origin says whether it must point back at what issued it: a coupon bought with points
(`reward_redemption`) carries the redemption reference and the ledger transaction, so the
rewards domain can return the points when its rules say so. That domain registers a release
hook for its origin here; the coupon domain calls the hooks and knows nothing of points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trofast.models import Coupon, CouponRedemption


@dataclass(frozen=True)
class Origin:
    name: str
    needs_reference: bool


ORIGINS: dict[str, Origin] = {
    "manual": Origin("manual", needs_reference=False),
    "reward_redemption": Origin("reward_redemption", needs_reference=True),
    # A referred friend's welcome coupon; `origin_ref` is `referral:<id>`.
    "referral_welcome": Origin("referral_welcome", needs_reference=False),
}

ReleaseHook = Callable[[Session, Coupon, CouponRedemption], None]
_RELEASE_HOOKS: dict[str, list[ReleaseHook]] = {}


def on_release(origin: str) -> Callable[[ReleaseHook], ReleaseHook]:
    """Register `hook` to run, in the releasing transaction, when a use is released."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown coupon origin {origin!r}")

    def register(hook: ReleaseHook) -> ReleaseHook:
        _RELEASE_HOOKS.setdefault(origin, []).append(hook)
        return hook

    return register


def remove_release_hook(origin: str, hook: ReleaseHook) -> None:
    _RELEASE_HOOKS.get(origin, []).remove(hook)


def released(session: Session, coupon: Coupon, redemption: CouponRedemption) -> None:
    for hook in _RELEASE_HOOKS.get(coupon.origin, []):
        hook(session, coupon, redemption)
