"""What every ledger write shares: accounts, the idempotent start, postings, results.

Every write follows one order, which is what makes concurrency safe:
1. create (if needed) and lock the member's accounts, in primary-key order;
2. INSERT the transaction row ... ON CONFLICT (idempotency_key) DO NOTHING: a duplicate
   request finds the first row and replays it, a different request under the key is a 409;
3. read lots and write postings while holding the lock, decrementing lots with a
   conditional UPDATE as a backstop to the lock (and the CHECK constraint behind it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from trofast.kit.txcache import transaction_cache
from trofast.ledger import repository
from trofast.ledger.errors import IdempotencyConflict, MemberNotFound
from trofast.models import LedgerTransaction


class Kind(StrEnum):
    earn = "earn"
    settle = "settle"
    spend = "spend"
    expire = "expire"
    reverse = "reverse"
    adjust = "adjust"
    restore = "restore"  # gives back the points of a spend (a cancelled redemption)


class DebtPolicy(StrEnum):
    """What a reversal does with points the member already spent."""

    allow_debt = "allow_debt"  # the available balance goes negative; earnings repay it
    clamp = "clamp"  # take what the member has, record the rest in `written_off`


SYSTEM_KINDS = ("issued", "redeemed", "expired", "reversed", "adjustments", "written_off")
MEMBER_KINDS = ("pending", "available")


@dataclass(frozen=True, slots=True)
class Reasons:
    """Why a transaction happened; the programme engine fills the first four."""

    event_id: int | None = None
    order_id: int | None = None
    programme_version: int | None = None
    rule: str | None = None
    note: str | None = None
    api_key_id: int | None = None


@dataclass(frozen=True, slots=True)
class Accounts:
    pending: int
    available: int
    system: Mapping[str, int]
    # `available` was created by the `member_accounts` call that returned this, so it has no
    # debt to repay: `Debt` trusts this, so pass an Accounts on to one write only.
    opened: bool = False

    def of_state(self, state: str) -> int:
        return self.pending if state == "pending" else self.available


@dataclass(slots=True)
class Postings:
    """Postings of one transaction; refuses to be written unless they sum to zero."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, account_id: int, amount: int, lot_id: int | None = None) -> None:
        if amount != 0:
            self.rows.append({"account_id": account_id, "amount": amount, "lot_id": lot_id})

    def write(self, session: Session, transaction_id: int) -> None:
        repository.insert_postings(session, self.rows_of(transaction_id))

    def rows_of(self, transaction_id: int) -> list[dict[str, Any]]:
        """The rows to insert for `transaction_id`, once checked to sum to zero."""
        total = sum(row["amount"] for row in self.rows)
        if total != 0:
            # A bug, never a user error: the double-entry invariant would break.
            raise AssertionError(f"postings of transaction {transaction_id} sum to {total}")
        return [{"transaction_id": transaction_id, **row} for row in self.rows]


@dataclass(frozen=True, slots=True)
class Started:
    transaction_id: int
    replayed: bool
    accounts: Accounts


def request_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def member_accounts(
    session: Session, customer_id: int, now: datetime, *, known: bool = False
) -> Accounts:
    """The member's and the system accounts, the member's locked for this transaction.
    `known`: the caller has read the customer's row in this transaction, no probe needed."""
    names = [f"member:{customer_id}:{kind}" for kind in MEMBER_KINDS]
    wanted: list[tuple[str, str, int | None]] = [
        (name, kind, customer_id) for name, kind in zip(names, MEMBER_KINDS, strict=True)
    ]
    wanted += [(f"system:{kind}", kind, None) for kind in SYSTEM_KINDS]
    cache = transaction_cache(session)
    system: dict[str, int] | None = cache.get(_SYSTEM)
    if system is not None:
        # The common case inside a delivery: the member's two rows found and locked by name
        # in one statement.
        ids = repository.lock_accounts_named(session, names)
        if len(ids) == len(names):
            return Accounts(ids[names[0]], ids[names[1]], system, False)
        ids.update({f"system:{kind}": account for kind, account in system.items()})
    else:
        ids = repository.existing_accounts(session, [name for name, _, _ in wanted])
    opened = names[1] not in ids
    created: set[str] = set()
    if opened or names[0] not in ids:
        # A member's accounts reference its customer row, so only a member without
        # accounts yet needs the existence check (one statement saved on every write).
        if not known and not repository.customer_exists(session, customer_id):
            raise MemberNotFound(f"no customer {customer_id}", detail={"customer_id": customer_id})
        ids, created = repository.ensure_accounts(session, wanted, now, found=ids)
    pending, available = ids[names[0]], ids[names[1]]
    # Only the member's rows are locked: system accounts are shared by every member and
    # locking them would serialise the whole ledger. Rows this transaction has just
    # inserted need no lock: no other transaction sees them before it commits, and one
    # inserting the same names waits on their unique index entries until then.
    if not created.issuperset(names):
        repository.lock_accounts(session, [pending, available])
    system = cache[_SYSTEM] = {kind: ids[f"system:{kind}"] for kind in SYSTEM_KINDS}
    return Accounts(pending, available, system, opened)


# The system accounts' ids, once read in a transaction (kit/txcache.py): they never change
# once created, and a savepoint that created them drops the cache when it ends.
_SYSTEM = "ledger.system_accounts"


@dataclass(frozen=True, slots=True)
class Request:
    """One transaction to start: its idempotency key, what was asked (hashed), and why."""

    key: str
    fields: Mapping[str, Any]
    reasons: Reasons
    reverses_id: int | None = None
    debt_policy: DebtPolicy | None = None


def start(
    session: Session,
    *,
    customer_id: int,
    key: str,
    kind: Kind,
    request: Mapping[str, Any],
    reasons: Reasons,
    now: datetime,
    reverses_id: int | None = None,
    debt_policy: DebtPolicy | None = None,
    accounts: Accounts | None = None,
    effective_at: datetime | None = None,
) -> Started:
    """Lock the member, then claim the idempotency key (or find who holds it)."""
    (started,) = start_all(
        session,
        customer_id=customer_id,
        kind=kind,
        requests=[Request(key, request, reasons, reverses_id, debt_policy)],
        now=now,
        accounts=accounts or member_accounts(session, customer_id, now),
        effective_at=effective_at,
    )
    return started


def start_all(
    session: Session,
    *,
    customer_id: int,
    kind: Kind,
    requests: Sequence[Request],
    now: datetime,
    accounts: Accounts,
    effective_at: datetime | None = None,
) -> list[Started]:
    """`start` for one or more transactions of a member whose lock the caller holds: one
    INSERT for all of them, one read for the keys already taken."""
    if len({r.key for r in requests}) != len(requests):
        # Two rows of one INSERT under one key: the second would pass for a replay of the first.
        raise AssertionError("idempotency keys repeat within one batch")
    digests = [_digest(kind, customer_id, r.fields) for r in requests]
    new = repository.insert_transactions(
        session,
        [
            _transaction_row(customer_id, kind, r, digest, now, effective_at)
            for r, digest in zip(requests, digests, strict=True)
        ],
    )
    taken = [r.key for r in requests if r.key not in new]
    first = repository.transactions_by_keys(session, taken) if taken else {}
    return [
        Started(new[r.key], False, accounts)
        if r.key in new
        else Started(_replayed(first[r.key], digest), True, accounts)
        for r, digest in zip(requests, digests, strict=True)
    ]


def _digest(kind: Kind, customer_id: int, request: Mapping[str, Any]) -> str:
    return request_hash({"kind": kind.value, "customer_id": customer_id, **request})


def _replayed(first: LedgerTransaction, digest: str) -> int:
    """The first transaction's id under a key, if this request is the same as its."""
    if first.request_hash != digest:
        raise IdempotencyConflict(
            "this idempotency key was used for a different request",
            detail={"idempotency_key": first.idempotency_key, "transaction_id": first.id},
        )
    return first.id


def _transaction_row(
    customer_id: int,
    kind: Kind,
    request: Request,
    digest: str,
    now: datetime,
    effective_at: datetime | None,
) -> dict[str, Any]:
    reasons = request.reasons
    return {
        "idempotency_key": request.key,
        "request_hash": digest,
        "kind": kind.value,
        "customer_id": customer_id,
        "event_id": reasons.event_id,
        "order_id": reasons.order_id,
        "programme_version": reasons.programme_version,
        "rule": reasons.rule,
        "note": reasons.note,
        "api_key_id": reasons.api_key_id,
        "reverses_id": request.reverses_id,
        "debt_policy": request.debt_policy.value if request.debt_policy else None,
        "created_at": now,
        # When it happened in the shop (the order's payment, the refund), which a
        # backfill or a late delivery makes earlier than `created_at`.
        "effective_at": effective_at or now,
    }


class Debt:
    """A member's debt (the negated lot-less part of `available`), read once under the
    member's lock and then followed as lots repay it, so crediting several lots in one
    transaction reads it once."""

    def __init__(self, session: Session, accounts: Accounts) -> None:
        self._session = session
        self._available = accounts.available
        # An account opened in this transaction has no postings before its own: no debt.
        self._left: int | None = 0 if accounts.opened else None

    def repay(self, points: int) -> int:
        """How much of `points` goes to the debt (and no longer counts as owed)."""
        if self._left is None:
            lotless = repository.account_sum(self._session, self._available, lotless=True)
            self._left = max(-lotless, 0)
        repaid = min(points, self._left)
        self._left -= repaid
        return repaid


def credit_available(
    session: Session,
    postings: Postings,
    accounts: Accounts,
    lot_id: int,
    points: int,
    debt: Debt | None = None,
) -> int:
    """Credit `points` of a lot to `available`, repaying any debt first; returns what the lot keeps.

    Debt is the lot-less part of the available balance (negative). Repaying it is a posting
    pair on `available` that moves points from the lot to the lot-less part: the balance is
    unchanged by the pair, the lot shrinks and the debt with it. `debt`: the tracker of a
    caller crediting several lots in this transaction.
    """
    repay = (debt or Debt(session, accounts)).repay(points)
    postings.add(accounts.available, points - repay, lot_id)
    postings.add(accounts.available, repay, None)
    return points - repay
