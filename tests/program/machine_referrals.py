"""Rules of the programme state machine for referrals (model: `referral_model.py`).

New customers arrive with a member's code, by signing up (`customer.upserted`) or with
their first order; known members send a code too (their own, or another's) and must be
blocked without a reward. The friends then place, pay, cancel, refund and receive orders
through the machine's ordinary rules, and the referrals job runs with the other jobs at the
test clock. After every step each referral's row, and the referral points in the ledger,
must be what the model says: the referrer rewarded exactly once for a kept first order,
never for a cancelled or returned one, and the weekly cap applied. An admin blocks or
approves any referral (`service.block` / `service.approve`, behind
`POST /v1/referrals/{id}/block|approve`), completed ones included, which are refused: a
blocked referral rewards nobody, an approved one rewards its referrer past the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.program import referral_model
from tests.program.model import Club, Customer, Line, Order
from tests.program.referral_model import Referrals
from tests.program.strategies import LINES
from trofast.errors import AppError
from trofast.models import LedgerTransaction, Referral
from trofast.referral import codes
from trofast.referral import service as referral_service
from trofast.referral.errors import ReferralCompleted

FRIENDS = 3  # new customers brought in by a code, at most, per run


class ReferralRules:
    """The rules; the machine holds the state they name."""

    session: Session
    now: datetime
    club: Club
    seq: int
    referrals: Referrals

    # The machine's: an event through ingestion, the real clock it was applied at, an order.
    _ingest: Callable[[dict[str, Any]], dict[str, Any]]
    _clock: Callable[[str], datetime]
    _place: Callable[..., Order]

    def _code(self, member: int) -> str:
        """The member's referral code as a shopper types it: grouped, in lower case."""
        with self.session.begin_nested():
            code = referral_service.code_for(self.session, self.club.members[member].id)
        return codes.display(code).lower()

    def _upsert(self, m: int, referred_by: int) -> tuple[str, dict[str, Any]]:
        self.seq += 1
        key = f"signup:{self.seq}"
        result = self._ingest(
            {
                "idempotency_key": key,
                "type": "customer.upserted",
                "occurred_at": self.now.isoformat(),
                "customer": {"email": f"m{m}@example.no"},
                "referral_code": self._code(referred_by),
            }
        )
        assert result["status"] == "applied"
        return key, result

    @precondition(lambda self: len(self.referrals.all) < FRIENDS)
    @rule(data=st.data())
    def friend_signs_up(self, data: st.DataObject) -> None:
        referrer = data.draw(st.integers(0, len(self.club.members) - 1))
        friend = len(self.club.members)
        key, result = self._upsert(friend, referrer)
        self.club.members.append(Customer(result["customer_id"]))
        self.referrals.arrive(referrer, friend, new=True, engine_now=self._clock(key))

    @precondition(lambda self: len(self.referrals.all) < FRIENDS)
    @rule(data=st.data(), paid=st.booleans(), lines=LINES)
    def friend_orders_with_code(self, data: st.DataObject, paid: bool, lines: list[Line]) -> None:
        referrer = data.draw(st.integers(0, len(self.club.members) - 1))
        self._place(len(self.club.members), lines, paid=paid, referred_by=referrer)

    @rule(data=st.data())
    def member_sends_a_code(self, data: st.DataObject) -> None:
        """A known customer, or a member with their own code: blocked, nobody rewarded; a
        friend already referred keeps the first referral."""
        m = data.draw(st.integers(0, len(self.club.members) - 1))
        referrer = data.draw(st.integers(0, len(self.club.members) - 1))
        key, result = self._upsert(m, referrer)
        assert result["customer_id"] == self.club.members[m].id
        self.referrals.arrive(referrer, m, new=False, engine_now=self._clock(key))

    # --- an admin's decisions -----------------------------------------------------------------

    def _row_id(self, referral: referral_model.Referral) -> int:
        friend = self.club.members[referral.friend].id
        found = self.session.scalar(select(Referral.id).where(Referral.friend_id == friend))
        assert found is not None
        return found

    @precondition(lambda self: self.referrals.all)
    @rule(data=st.data())
    def admin_blocks(self, data: st.DataObject) -> None:
        referral = data.draw(st.sampled_from(self.referrals.all))
        row_id = self._row_id(referral)
        if referral.status == "completed":
            # The referrer has the points: blocking now would not take them back.
            with pytest.raises(ReferralCompleted), self.session.begin_nested():
                referral_service.block(self.session, row_id, "too late", api_key_id=None)
            return
        with self.session.begin_nested():
            referral_service.block(self.session, row_id, "same household", api_key_id=None)
        self.referrals.block(referral)

    @precondition(lambda self: self.referrals.all)
    @rule(data=st.data(), anyone=st.integers(0, 3).map(lambda n: n == 3))
    def admin_approves(self, data: st.DataObject, anyone: bool) -> None:
        # Mostly a blocked one: approving is what a blocked referral is waiting for.
        blocked = [r for r in self.referrals.all if r.status == "blocked"]
        referral = data.draw(
            st.sampled_from(self.referrals.all if anyone or not blocked else blocked)
        )
        row_id = self._row_id(referral)
        refused = self.referrals.approval_refused(referral)
        if refused is not None:
            with pytest.raises(AppError) as error, self.session.begin_nested():
                self._approve(row_id)
            assert error.value.code == refused
            return
        self._approve(row_id)
        # The approval runs at the real clock (an admin's request), which the row records.
        at = self.session.scalar(select(Referral.updated_at).where(Referral.id == row_id))
        assert at is not None
        self.referrals.approve(referral, at)

    def _approve(self, row_id: int) -> None:
        with self.session.begin_nested():
            referral_service.approve(
                self.session, row_id, "checked by hand", api_key_id=None, currency="NOK"
            )

    def _referral_earnings(self) -> list[tuple[Any, ...]]:
        """The ledger's earn rows for referrals: (order, rule, programme version, points)."""
        rows: list[tuple[Any, ...]] = []
        for r in self.referrals.all:
            if r.welcome:
                rows.append((None, "referral_welcome", r.welcome_version, r.welcome))
            if r.rewarded:
                assert r.first is not None
                rows.append((r.first.db_id, "referral", r.reward_version, r.rewarded))
        return rows

    @invariant()
    def referrals_match_the_model(self) -> None:
        if not self.club.members:
            return
        rows = self.session.execute(
            select(
                Referral.referrer_id,
                Referral.friend_id,
                Referral.status,
                Referral.reason,
                Referral.first_order_id,
                Referral.due_at,
                Referral.welcome_transaction_id.is_not(None),
                Referral.reward_transaction_id.is_not(None),
                Referral.approved,
            ).order_by(Referral.id)
        ).all()
        ids = [m.id for m in self.club.members]
        assert [
            (*r[:5], r.due_at if r.status == "pending" else None, *r[6:]) for r in rows
        ] == [
            (
                ids[r.referrer], ids[r.friend], r.status, r.reason,
                r.first.db_id if r.first else None,
                r.due_at if r.status == "pending" else None,
                r.welcome > 0, r.rewarded > 0, r.approved,
            )
            for r in self.referrals.all
        ]  # fmt: skip
        # Exactly one reward per completed referral, none for any other.
        rewarded = self.session.execute(
            select(LedgerTransaction.customer_id, func.count())
            .where(LedgerTransaction.rule == "referral")
            .group_by(LedgerTransaction.customer_id)
        ).all()
        expected: dict[int, int] = {}
        for r in self.referrals.all:
            if r.status == "completed":
                expected[ids[r.referrer]] = expected.get(ids[r.referrer], 0) + 1
        assert dict(rewarded) == expected
