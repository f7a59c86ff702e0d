"""Errors of member tokens.

AppError
├── Unauthorized (401)
│   ├── InvalidMemberToken          invalid_member_token (malformed or bad signature)
│   └── MemberTokenExpired          member_token_expired
├── Forbidden (403)
│   └── MemberTokenMismatch         member_token_mismatch (a token for another member)
├── NotFound (404)
│   ├── MemberNotFound              member_not_found (also: no member has this phone, e-mail,
│   │                               card or QR code at the till)
│   ├── QrExpired                   qr_expired (a real QR code past its expiry)
│   └── ReceiptNotFound             receipt_not_found (unknown number or another amount)
├── Conflict (409)
│   ├── AlreadyClaimed              already_claimed (the receipt belongs to a member)
│   ├── AmbiguousReceipt            ambiguous_receipt (several match: give store and date)
│   └── NotAMember                  not_a_member (an opt-in programme, not enrolled)
├── Unprocessable (422)
│   └── SelectorRequired            selector_required (not exactly one of phone/email/...)
└── TooManyRequests (429)
    ├── TooManyFailedClaims         too_many_failed_claims (with Retry-After)
    └── TooManyLookupMisses         too_many_lookup_misses (with Retry-After)
"""

from __future__ import annotations

from trofast.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)


class InvalidMemberToken(Unauthorized):
    default_code = "invalid_member_token"


class MemberTokenExpired(Unauthorized):
    default_code = "member_token_expired"


class MemberTokenMismatch(Forbidden):
    default_code = "member_token_mismatch"


class MemberNotFound(NotFound):
    default_code = "member_not_found"


class QrExpired(NotFound):
    default_code = "qr_expired"


class ReceiptNotFound(NotFound):
    # One answer for an unknown number and a known number with another amount: a guesser
    # must not learn which receipt numbers exist.
    default_code = "receipt_not_found"


class AlreadyClaimed(Conflict):
    default_code = "already_claimed"


class AmbiguousReceipt(Conflict):
    default_code = "ambiguous_receipt"


class NotAMember(Conflict):
    default_code = "not_a_member"


class SelectorRequired(Unprocessable):
    default_code = "selector_required"


class TooManyFailedClaims(TooManyRequests):
    default_code = "too_many_failed_claims"


class TooManyLookupMisses(TooManyRequests):
    default_code = "too_many_lookup_misses"
