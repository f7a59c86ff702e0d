"""Golden tests of the CSV normaliser: exact minor units, ids, dates and refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.imports.helpers import FIXTURES, options, read, read_all
from trofast.imports.errors import ImportFileError


def test_line_items_become_orders_and_lines_in_exact_minor_units() -> None:
    chunk = read_all(FIXTURES / "lines.csv", options(timezone="Europe/Oslo"))

    assert chunk.orders.to_dicts() == [
        {
            "external_id": "9007199254740993",
            "customer_external_id": "C-1",
            "email": "kari.nordmann@example.no",
            "phone": "+4791234567",
            "placed_at": datetime(2024, 3, 1, 9, 15, tzinfo=UTC),
            "currency": "NOK",
            "channel": "web",
            "store": None,
            "subtotal_minor": 2 * 49900 + 3 * 7990,
            "discount_minor": 4000,
            "total_minor": 99800 + 19970,
        },
        {
            "external_id": "R-100",
            "customer_external_id": None,
            "email": None,
            "phone": "+4791234567",
            "placed_at": datetime(2024, 3, 2, 13, 0, tzinfo=UTC),
            "currency": "NOK",
            "channel": "store",
            "store": "OSLO-1",
            "subtotal_minor": 49900,
            "discount_minor": 0,
            "total_minor": 49900,
        },
        {
            "external_id": "W-7",
            "customer_external_id": None,
            "email": None,
            "phone": None,
            "placed_at": datetime(2024, 3, 3, 9, 0, tzinfo=UTC),
            "currency": "EUR",
            "channel": "web",
            "store": None,
            "subtotal_minor": 1999,
            "discount_minor": 0,
            "total_minor": 1999,
        },
    ]
    assert chunk.lines.to_dicts() == [
        {
            "order_external_id": "9007199254740993",
            "external_id": "1",
            "sku": "SKU-1",
            "name": "Ullgenser",
            "category": "Klær",
            "quantity": 2,
            "unit_price_minor": 49900,
            "discount_minor": 0,
            "total_minor": 99800,
        },
        {
            "order_external_id": "9007199254740993",
            "external_id": "2",
            "sku": "SKU-2",
            "name": "Sokker",
            "category": "Klær",
            "quantity": 3,
            "unit_price_minor": 7990,
            "discount_minor": 4000,
            "total_minor": 19970,
        },
        {
            "order_external_id": "R-100",
            "external_id": "1",
            "sku": "SKU-1",
            "name": "Ullgenser",
            "category": "Klær",
            "quantity": 1,
            "unit_price_minor": 49900,
            "discount_minor": 0,
            "total_minor": 49900,
        },
        {
            "order_external_id": "W-7",
            "external_id": "1",
            "sku": "SKU-3",
            "name": "Lue",
            "category": "Tilbehør",
            "quantity": 1,
            "unit_price_minor": 1999,
            "discount_minor": 0,
            "total_minor": 1999,
        },
    ]


def test_an_id_above_2_pow_53_is_kept_as_written() -> None:
    chunk = read_all(FIXTURES / "lines.csv", options())

    # Through a float it would have become 9007199254740992.
    assert chunk.orders.get_column("external_id")[0] == "9007199254740993"
    assert chunk.orders.schema["external_id"] == pl.String


def test_totals_only_rows_get_one_synthetic_line_and_a_deterministic_id() -> None:
    opts = options(
        "Kunde=customer_id",
        "Dato=placed_at",
        "Antall=quantity",
        "Beløp=amount",
        separator=";",
        decimal_comma=True,
        date_format="%d.%m.%Y",
    )
    chunk = read_all(FIXTURES / "totals.csv", opts)

    assert chunk.orders.select(
        "external_id",
        "customer_external_id",
        "placed_at",
        "subtotal_minor",
        "discount_minor",
        "total_minor",
    ).rows() == [
        ("1001/01.02.2023/1", "1001", datetime(2023, 2, 1, tzinfo=UTC), 10002, 2, 10000),
        ("1001/01.02.2023/2", "1001", datetime(2023, 2, 1, tzinfo=UTC), 5990, 0, 5990),
        ("1002/15.02.2023/1", "1002", datetime(2023, 2, 15, tzinfo=UTC), 2, 1, 1),
    ]
    # 3 items for 100,00: 33,34 each (rounded up) less 0,02 keeps the total exact.
    assert chunk.lines.select(
        "external_id", "quantity", "unit_price_minor", "discount_minor", "total_minor"
    ).rows() == [("1", 3, 3334, 2, 10000), ("1", 1, 5990, 0, 5990), ("1", 2, 1, 1, 1)]


def test_twelve_point_three_four_five_nok_is_refused_with_its_line() -> None:
    with pytest.raises(ImportFileError) as caught:
        read_all(FIXTURES / "bad_precision.csv", options(currency="NOK"))

    assert caught.value.code == "invalid_amount_precision"
    assert caught.value.detail == {"line": 3, "value": "12.345", "rows": 1}
    assert "line 3" in caught.value.message


def test_three_decimals_are_exact_in_a_three_decimal_currency() -> None:
    chunk = read_all(FIXTURES / "bad_precision.csv", options(currency="KWD"))

    assert chunk.orders.get_column("total_minor").to_list() == [10000, 12345]


def _one_row(tmp_path: Path, header: str, row: str) -> Path:
    path = tmp_path / "one.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("written", "date_format", "zone", "expected"),
    [
        ("2024-06-01T12:00:00+02:00", None, "UTC", datetime(2024, 6, 1, 10, tzinfo=UTC)),
        (
            "2024-06-01T12:00:00.250Z",
            None,
            "UTC",
            datetime(2024, 6, 1, 12, 0, 0, 250000, tzinfo=UTC),
        ),
        ("2024-06-01 12:00", None, "Europe/Oslo", datetime(2024, 6, 1, 10, tzinfo=UTC)),
        ("2024-01-15", None, "Europe/Oslo", datetime(2024, 1, 14, 23, tzinfo=UTC)),
        ("19970101", "%Y%m%d", "UTC", datetime(1997, 1, 1, tzinfo=UTC)),
        ("31/12/2023 23:30", "%d/%m/%Y %H:%M", "UTC", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
    ],
)
def test_date_formats_and_time_zones(
    tmp_path: Path, written: str, date_format: str | None, zone: str, expected: datetime
) -> None:
    path = _one_row(tmp_path, "order_id,date,amount", f'A,"{written}",1.00')
    chunk = read_all(path, options(date_format=date_format, timezone=zone))

    assert chunk.orders.get_column("placed_at").to_list() == [expected]


@pytest.mark.parametrize(
    ("written", "date_format", "zone"),
    [
        ("19970101", None, "UTC"),  # not ISO 8601 without --date-format
        ("2024-03-31 02:30", None, "Europe/Oslo"),  # in the DST gap: never happened
        ("2024-02-30", None, "UTC"),
    ],
)
def test_unreadable_dates_are_refused(
    tmp_path: Path, written: str, date_format: str | None, zone: str
) -> None:
    path = _one_row(tmp_path, "order_id,date,amount", f"A,{written},1.00")

    with pytest.raises(ImportFileError) as caught:
        read_all(path, options(date_format=date_format, timezone=zone))

    assert caught.value.code == "invalid_timestamp"
    assert caught.value.detail["line"] == 2
    assert ("--date-format, e.g. %Y%m%d" in caught.value.message) is (date_format is None)


@pytest.mark.parametrize(
    ("header", "row", "code"),
    [
        ("order_id,date,amount", "A,2024-01-01,-5.00", "negative_amount"),
        ("order_id,date,amount", "A,2024-01-01,1e3", "invalid_amount"),
        ("order_id,date,amount,currency", "A,2024-01-01,1.00,XXY", "unknown_currency"),
        ("order_id,date,amount,quantity", "A,2024-01-01,1.00,-1", "invalid_quantity"),
        ("order_id,date,amount,email", "A,2024-01-01,1.00,not-an-email", "invalid_email"),
        ("order_id,date,amount,phone", "A,2024-01-01,1.00,12", "invalid_phone"),
        (
            "order_id,date,unit_price,quantity,amount",
            "A,2024-01-01,1.00,2,3.00",
            "amount_exceeds_price",
        ),
        ("order_id,date,amount,channel", "A,2024-01-01,1.00,phone", "invalid_channel"),
        ("order_id,date,amount", ",2024-01-01,1.00", "missing_order_id"),
    ],
)
def test_bad_rows_are_refused_with_a_stable_code(
    tmp_path: Path, header: str, row: str, code: str
) -> None:
    with pytest.raises(ImportFileError) as caught:
        read_all(_one_row(tmp_path, header, row), options())

    assert caught.value.code == code


def test_a_chunk_never_splits_an_order() -> None:
    # Batches of one row: the first order has two lines and must still arrive whole.
    _, parts = read(FIXTURES / "lines.csv", options(batch_size=1))

    assert [c.orders.get_column("external_id").to_list() for c in parts] == [
        ["9007199254740993"],
        ["R-100"],
        ["W-7"],
    ]
    assert [c.lines.height for c in parts] == [2, 1, 1]


def test_rows_of_one_order_apart_across_chunks_are_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        read(FIXTURES / "scattered.csv", options(batch_size=1))

    assert caught.value.code == "order_rows_not_contiguous"
    assert caught.value.detail == {"line": 4}


def test_rows_of_one_order_apart_within_a_chunk_are_one_order() -> None:
    chunk = read_all(FIXTURES / "scattered.csv", options())

    assert chunk.orders.select("external_id", "total_minor").rows() == [("A-1", 200), ("A-2", 100)]
    assert chunk.lines.select("order_external_id", "external_id", "sku").rows() == [
        ("A-1", "1", "X"),
        ("A-2", "1", "X"),
        ("A-1", "2", "Y"),
    ]


def test_parquet_is_read_like_csv_with_ids_and_amounts_as_written(tmp_path: Path) -> None:
    path = tmp_path / "lines.parquet"
    pl.read_csv(FIXTURES / "lines.csv", infer_schema=False).write_parquet(path)

    from_parquet = read_all(path, options(timezone="Europe/Oslo"))
    from_csv = read_all(FIXTURES / "lines.csv", options(timezone="Europe/Oslo"))

    assert from_parquet.orders.to_dicts() == from_csv.orders.to_dicts()
    assert from_parquet.lines.to_dicts() == from_csv.lines.to_dicts()


def test_parquet_integer_ids_and_decimal_amounts_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "order_id": pl.Series([9007199254740993], dtype=pl.UInt64),
            "date": ["2024-01-01"],
            "amount": pl.Series([Decimal("12.50")], dtype=pl.Decimal(12, 2)),
        }
    ).write_parquet(path)

    chunk = read_all(path, options())

    assert chunk.orders.select("external_id", "total_minor").rows() == [("9007199254740993", 1250)]


def test_parquet_ids_stored_as_floats_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "floats.parquet"
    pl.DataFrame({"order_id": [1.0], "date": ["2024-01-01"], "amount": ["1.00"]}).write_parquet(
        path
    )

    with pytest.raises(ImportFileError) as caught:
        read_all(path, options())

    assert caught.value.code == "float_id"
