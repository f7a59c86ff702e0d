from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trofast.ledger.allocation import LotView, Take, allocate, reversal_target, spending_order


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


LOTS = [
    LotView(1, 10, earned_at=d(1, 1), expires_at=d(3, 1)),
    LotView(2, 10, earned_at=d(1, 5), expires_at=d(2, 1)),
    LotView(3, 10, earned_at=d(1, 1), expires_at=None),
    LotView(4, 10, earned_at=d(1, 2), expires_at=d(2, 1)),
    LotView(5, 10, earned_at=d(1, 1), expires_at=None),
]


def test_soonest_expiry_first_older_first_on_ties_non_expiring_last() -> None:
    assert [lot.id for lot in spending_order(LOTS)] == [4, 2, 1, 3, 5]


def test_allocate_takes_whole_lots_then_part_of_the_next() -> None:
    takes, missing = allocate(LOTS, 25)
    assert takes == [Take(4, 10), Take(2, 10), Take(1, 5)]
    assert missing == 0


def test_allocate_reports_the_shortfall_and_skips_empty_lots() -> None:
    lots = [*LOTS, LotView(6, 0, earned_at=d(1, 1), expires_at=d(1, 15))]
    takes, missing = allocate(lots, 57)
    assert [t.lot_id for t in takes] == [4, 2, 1, 3, 5]
    assert sum(t.points for t in takes) == 50
    assert missing == 7


def test_allocate_nothing() -> None:
    assert allocate(LOTS, 0) == ([], 0)
    with pytest.raises(ValueError, match="negative"):
        allocate(LOTS, -1)


def test_reversal_target_rounds_down_on_the_cumulative_share() -> None:
    # 100 points, order refunded in thirds of 300: 33, then 66, then exactly 100.
    targets = [reversal_target(100, refunded, 300) for refunded in (100, 200, 300)]
    assert targets == [33, 66, 100]
    assert [b - a for a, b in zip([0, *targets], targets, strict=False)] == [33, 33, 34]
    # 7 points, 1 of 3 kr refunded: 2.33 rounds down to 2.
    assert reversal_target(7, 1, 3) == 2
    assert reversal_target(7, 0, 3) == 0


@pytest.mark.parametrize(("refunded", "total"), [(4, 3), (-1, 3), (0, 0)])
def test_reversal_target_refuses_impossible_shares(refunded: int, total: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        reversal_target(10, refunded, total)
