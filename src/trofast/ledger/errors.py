"""Errors of the points ledger.

AppError
├── NotFound (404)
│   ├── MemberNotFound              member_not_found
│   └── TransactionNotFound         ledger_transaction_not_found
├── Conflict (409)
│   ├── InsufficientPoints          insufficient_points
│   ├── IdempotencyConflict         idempotency_conflict
│   └── NotReversible               not_reversible
└── BadRequest (400)
    └── InvalidLedgerRequest        invalid_ledger_request
"""

from __future__ import annotations

from trofast.errors import BadRequest, Conflict, NotFound


class MemberNotFound(NotFound):
    default_code = "member_not_found"


class TransactionNotFound(NotFound):
    default_code = "ledger_transaction_not_found"


class InsufficientPoints(Conflict):
    default_code = "insufficient_points"


class IdempotencyConflict(Conflict):
    """The key was used before for a different request; the first request stands."""

    default_code = "idempotency_conflict"


class NotReversible(Conflict):
    default_code = "not_reversible"


class InvalidLedgerRequest(BadRequest):
    default_code = "invalid_ledger_request"
