"""RFM scores and segments on hand-made data with exact expected values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from trofast.analytics import DEFAULT_SEGMENT_MAP, SegmentMap, rfm_table, segment_migration
from trofast.analytics.errors import InvalidInput
from trofast.analytics.rfm import SEGMENTS, segment_counts

AT = date(2024, 1, 31)


def _orders() -> pl.DataFrame:
    rows = [
        ("A", date(2024, 1, 30), 100.0),
        ("A", date(2024, 1, 20), 100.0),
        ("A", date(2024, 1, 10), 100.0),
        ("A", date(2023, 12, 1), 100.0),
        ("B", date(2024, 1, 25), 50.0),
        ("B", date(2023, 11, 1), 50.0),
        ("B", date(2023, 10, 1), 50.0),
        ("C", date(2024, 1, 1), 500.0),
        ("D", date(2023, 12, 1), 20.0),
        ("D", date(2023, 6, 1), 20.0),
        ("E", date(2023, 1, 31), 10.0),
        ("F", date(2024, 2, 5), 999.0),  # after the date: not a customer yet
    ]
    return pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")


def test_rfm_scores_and_segments_golden() -> None:
    table = rfm_table(_orders(), AT)
    assert table.select(
        "customer_id", "recency", "frequency", "monetary", "r_score", "f_score", "m_score",
        "fm_score", "segment",
    ).rows() == [
        ("A", 1, 4, 400.0, 5, 5, 4, 5, "Champions"),
        ("B", 6, 3, 150.0, 4, 4, 3, 4, "Loyal Customers"),
        ("C", 30, 1, 500.0, 3, 1, 5, 3, "Need Attention"),
        ("D", 61, 2, 40.0, 2, 3, 2, 3, "At Risk"),
        ("E", 365, 1, 10.0, 1, 1, 1, 1, "Lost"),
    ]  # fmt: skip


def test_segment_counts_cover_every_customer() -> None:
    counts = segment_counts(rfm_table(_orders(), AT))
    assert counts["customers"].sum() == 5
    assert counts.filter(pl.col("segment") == "Champions")["revenue"].to_list() == [400.0]


def test_default_map_uses_every_named_segment_on_the_whole_grid() -> None:
    assert len(DEFAULT_SEGMENT_MAP.cells) == 25
    assert set(DEFAULT_SEGMENT_MAP.cells.values()) == set(SEGMENTS)


def test_segment_migration_between_two_dates() -> None:
    moves = segment_migration(_orders(), date(2023, 12, 31), AT)
    assert sorted(moves.rows()) == [
        ("(not yet a customer)", "Need Attention", 1),
        ("About to Sleep", "Champions", 1),
        ("At Risk", "Loyal Customers", 1),
        ("Lost", "Lost", 1),
        ("Need Attention", "At Risk", 1),
    ]


def test_custom_map_replaces_the_default() -> None:
    two_tier = SegmentMap.from_cells(
        {
            "Active": [f"{r},{fm}" for r in (4, 5) for fm in range(1, 6)],
            "Inactive": [f"{r},{fm}" for r in (1, 2, 3) for fm in range(1, 6)],
        }
    )
    table = rfm_table(_orders(), AT, segment_map=two_tier)
    assert table["segment"].to_list() == ["Active", "Active", "Inactive", "Inactive", "Inactive"]


def test_overlapping_map_is_refused() -> None:
    with pytest.raises(InvalidInput, match="in both"):
        SegmentMap.from_cells({"X": ["5,5"], "Y": ["5,5"]})


def test_map_with_a_gap_is_refused() -> None:
    with pytest.raises(InvalidInput, match="exactly once") as err:
        SegmentMap.from_cells({"X": [f"{r},{fm}" for r in range(1, 6) for fm in range(1, 5)]})
    assert err.value.detail["missing"] == [(r, 5) for r in range(1, 6)]


def test_empty_shop_gives_an_empty_table() -> None:
    empty = _orders().clear()
    assert rfm_table(empty, AT).height == 0
