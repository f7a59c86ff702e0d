"""Errors of the referral domain.

AppError
├── NotFound (404)
│   ├── ReferralNotFound            referral_not_found
│   └── MemberNotFound              member_not_found (from trofast.member.errors)
└── Conflict (409)
    ├── ReferralCompleted           referral_completed (the referrer was rewarded already)
    └── FirstOrderReturned          first_order_returned (nothing left to approve)
"""

from __future__ import annotations

from trofast.errors import Conflict, NotFound


class ReferralNotFound(NotFound):
    default_code = "referral_not_found"


class ReferralCompleted(Conflict):
    default_code = "referral_completed"


class FirstOrderReturned(Conflict):
    default_code = "first_order_returned"
