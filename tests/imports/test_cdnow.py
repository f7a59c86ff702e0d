"""The CDNOW logs (tests/data/cdnow), read as whitespace-separated totals-only files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.imports.helpers import options, read_all
from tests.support.data import CDNOW


def _independent_sum(path: Path, amount_column: int) -> tuple[int, int]:
    rows, cents = 0, 0
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or not parts[0].isdigit():
            continue
        rows += 1
        cents += int(Decimal(parts[amount_column]) * 100)
    return rows, cents


@pytest.mark.parametrize(
    ("name", "rows", "customers", "amount_column"),
    [("CDNOW_sample.txt", 6919, 2357, 4), ("CDNOW_master.txt", 69659, 23570, 3)],
)
def test_cdnow_logs_read_exactly(name: str, rows: int, customers: int, amount_column: int) -> None:
    path = CDNOW / name
    chunk = read_all(path, options(currency="USD", date_format="%Y%m%d", batch_size=25_000))

    assert chunk.rows == rows
    assert chunk.orders.height == rows  # each row its own order, also on the same day
    assert chunk.orders.get_column("external_id").n_unique() == rows
    assert chunk.orders.get_column("customer_external_id").n_unique() == customers
    assert (rows, int(chunk.orders.get_column("total_minor").sum())) == _independent_sum(
        path, amount_column
    )
    assert chunk.lines.height == rows


def test_cdnow_sample_first_rows() -> None:
    chunk = read_all(CDNOW / "CDNOW_sample.txt", options(currency="USD", date_format="%Y%m%d"))

    assert chunk.orders.select("external_id", "customer_external_id", "total_minor").head(
        3
    ).rows() == [
        ("00004/19970101/1", "00004", 2933),
        ("00004/19970118/1", "00004", 2973),
        ("00004/19970802/1", "00004", 1496),
    ]
    assert chunk.lines.select("quantity", "unit_price_minor", "discount_minor").head(2).rows() == [
        (2, 1467, 1),
        (2, 1487, 1),
    ]
