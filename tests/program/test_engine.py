"""Orders through ingestion earn, reverse and move tiers under the programme in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body, shipment_body
from tests.program.conftest import Ingest
from tests.support.sql import sent
from trofast.ledger import queries
from trofast.ledger.jobs import settle_due
from trofast.ledger.verify import verify
from trofast.models import LedgerLot, LedgerTransaction, MemberTier, Order, TierChange


def _member(session: Session) -> int:
    order = session.scalars(select(Order).where(Order.external_id == "1001")).one()
    assert order.customer_id is not None
    return order.customer_id


def _earnings(session: Session) -> dict[str | None, int]:
    rows = session.scalars(select(LedgerTransaction).order_by(LedgerTransaction.id)).all()
    out: dict[str | None, int] = {}
    for row in rows:
        view = queries.transaction_view(session, row.id)
        out[f"{row.kind}:{row.rule}"] = out.get(f"{row.kind}:{row.rule}", 0) + view.member_change
    return out


def test_a_paid_order_earns_each_rule_with_its_reasons(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    results = ingest(order_body())

    # Lines: 2 × 499.50 and 199 − 20 → 999 + 179 = 1,178 NOK of merchandise, shipping excluded.
    assert results[0]["points"] == 1278
    assert _earnings(db_session) == {"earn:base": 1178, "earn:first": 100}
    transactions = db_session.scalars(select(LedgerTransaction)).all()
    assert {t.programme_version for t in transactions} == {programme}
    assert {t.effective_at for t in transactions} == {datetime(2026, 3, 1, 10, tzinfo=UTC)}
    lots = db_session.scalars(select(LedgerLot).order_by(LedgerLot.id)).all()
    # The return window (paid 1 March + 14 days) closed long ago: available at once.
    assert {lot.state for lot in lots} == {"available"}
    # 12 months after earning, rounded to the end of March 2027.
    assert {lot.expires_at for lot in lots} == {datetime(2027, 4, 1, tzinfo=UTC)}
    assert verify(db_session) == []


def test_the_same_order_delivered_again_earns_nothing_more(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body())
    ingest(order_body(key="again", updated_at="2026-03-01T11:00:00Z"))

    assert _earnings(db_session) == {"earn:base": 1178, "earn:first": 100}


def _recent(days_ago: int) -> str:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return at.isoformat()


def test_a_recent_order_stays_pending_until_the_return_window_closes(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    paid = _recent(2)
    ingest(order_body(placed_at=paid, updated_at=paid))

    lots = db_session.scalars(select(LedgerLot)).all()
    expected = datetime.fromisoformat(paid) + timedelta(days=14)
    assert {(lot.state, lot.available_at) for lot in lots} == {("pending", expected)}
    summary = queries.balance_summary(db_session, _member(db_session))
    assert (summary.pending, summary.available) == (1278, 0)
    assert settle_due(db_session, now=expected - timedelta(seconds=1)) == 0
    assert settle_due(db_session, now=expected) == 2
    summary = queries.balance_summary(db_session, _member(db_session))
    assert (summary.pending, summary.available) == (0, 1278)


def test_a_delivery_moves_the_end_of_the_return_window(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    paid, delivered = _recent(3), _recent(1)
    shipment = shipment_body()
    shipment["shipment"]["delivered_at"] = delivered
    ingest(order_body(placed_at=paid, updated_at=paid), shipment)

    lots = db_session.scalars(select(LedgerLot)).all()
    expected = datetime.fromisoformat(delivered) + timedelta(days=14)
    assert {lot.available_at for lot in lots} == {expected}


def test_a_partial_refund_reverses_what_its_lines_earned(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body(), refund_body())

    # One of two L1 units: half of L1's 999 base points (rounded down) and half of the
    # first-order bonus L1 carries (85 of 100, split by line value) → 499 + 42.
    assert _earnings(db_session) == {
        "earn:base": 1178,
        "earn:first": 100,
        "reverse:base": -499,
        "reverse:first": -42,
    }
    assert verify(db_session) == []


def test_refunding_the_rest_reverses_everything_exactly(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    rest = refund_body(
        refund_id="R2",
        amount="678.50",
        lines=[
            {"line_id": "L1", "quantity": 1, "amount": "499.50"},
            {"line_id": "L2", "quantity": 1, "amount": "179.00"},
        ],
    )
    rest["idempotency_key"] = "refund:1001:R2"
    ingest(order_body(), refund_body(), rest)

    summary = queries.balance_summary(db_session, _member(db_session))
    assert summary.pending + summary.available == 0
    assert summary.lifetime_earned == 0


def test_a_cancelled_order_reverses_everything_and_the_tier_it_won(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body())
    member = _member(db_session)
    assert db_session.get(MemberTier, member).level == "silver"  # type: ignore[union-attr]

    ingest(
        {
            "idempotency_key": "cancel:1001",
            "type": "order.cancelled",
            "occurred_at": "2026-03-02T08:00:00Z",
            "order_id": "1001",
        }
    )

    summary = queries.balance_summary(db_session, member)
    assert (summary.pending, summary.available, summary.lifetime_earned) == (0, 0, 0)
    changes = db_session.scalars(select(TierChange).order_by(TierChange.id)).all()
    assert [(c.from_level, c.to_level, c.reason, c.value) for c in changes] == [
        (None, "silver", "qualified", 1278),
        ("silver", "base", "returned", 0),
    ]


def test_an_unpaid_order_earns_nothing_until_it_is_paid(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body(financial_status="pending"))
    assert _earnings(db_session) == {}

    ingest(
        {
            "idempotency_key": "paid:1001",
            "type": "order.paid",
            "occurred_at": "2026-03-01T12:00:00Z",
            "order_id": "1001",
        }
    )
    assert _earnings(db_session) == {"earn:base": 1178, "earn:first": 100}


def test_the_second_order_gets_no_first_order_bonus_and_the_tier_multiplier(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    ingest(order_body())  # 1,278 points: Silver (×2) at once
    ingest(order_body("1002", placed_at="2026-03-10T10:00:00Z", updated_at="2026-03-10T10:00:00Z"))

    assert _earnings(db_session) == {"earn:base": 2356, "earn:first": 100, "earn:tier:silver": 1178}


def test_without_a_programme_orders_earn_nothing(db_session: Session, ingest: Ingest) -> None:
    results = ingest(order_body())

    assert "points" not in results[0]
    assert db_session.scalars(select(LedgerTransaction)).all() == []


def test_of_two_orders_placed_at_the_same_moment_only_the_first_recorded_gets_the_bonus(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    # Date-only imports give every order of a day the same timestamp.
    ingest(order_body(), order_body("1002"))

    first_order = db_session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.rule == "first")
    ).all()
    assert [t.order_id for t in first_order] == [_member_order(db_session, "1001")]


def _member_order(session: Session, external_id: str) -> int:
    return session.scalars(select(Order.id).where(Order.external_id == external_id)).one()


def test_a_new_order_is_not_probed_for_refunds(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    with sent(db_session) as seen:
        ingest(order_body())

    assert not [s for s, _ in seen if " FROM refunds " in " ".join(s.split()) + " "]
    assert _earnings(db_session) == {"earn:base": 1178, "earn:first": 100}


def test_a_refund_of_nothing_parked_before_its_order_still_reverses_the_lines(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    # The refund arrives first, with lines but no money (an exchange): its order is a shell.
    ingest(refund_body(amount="0", lines=[{"line_id": "L1", "quantity": 1, "amount": "0"}]))

    ingest(order_body())

    # One of L1's two units came back: half of what L1 earned, from each rule, is reversed.
    assert _earnings(db_session) == {
        "earn:base": 1178,
        "earn:first": 100,
        "reverse:base": -499,
        "reverse:first": -42,
    }
