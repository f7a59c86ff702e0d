"""The merchant's CSVs: marketing spend per month and sessions per day, and every refusal
naming its row, column and value."""

from __future__ import annotations

from datetime import date

import pytest

from trofast.analytics.inputs import InvalidCsv, read_marketing_spend, read_sessions


def test_marketing_spend_golden() -> None:
    text = "\ufeffMonth,Spend,note\n2026-02-15,9800.50,any day names its month\n2026-01,12500\n\n"
    spend = read_marketing_spend(text)
    assert spend.rows() == [(date(2026, 1, 1), 12500.0), (date(2026, 2, 1), 9800.5)]


def test_semicolon_files_may_use_a_decimal_comma() -> None:
    spend = read_marketing_spend("month;spend\n2026-03;1234,50\n")
    assert spend.rows() == [(date(2026, 3, 1), 1234.5)]


def test_sessions_golden() -> None:
    sessions = read_sessions("day,sessions\n2026-01-02,388\n2026-01-01,412\n")
    assert sessions.rows() == [(date(2026, 1, 1), 412), (date(2026, 1, 2), 388)]


def test_a_header_only_file_is_empty() -> None:
    assert read_sessions("day,sessions\n").height == 0


@pytest.mark.parametrize(
    ("text", "message", "detail"),
    [
        ("month,spend\n2026-01,10\n2026-13,5\n", "row 3, column 'month': '2026-13' is not a month",
         {"row": 3, "column": "month", "value": "2026-13"}),
        ("month,spend\n2026-01,10\n2026-01-31,5\n", "2026-01-01 is also on row 2",
         {"row": 3, "column": "month", "value": "2026-01-31"}),
        ("month,spend\n2026-01,-10\n", "row 2, column 'spend': '-10' is not a non-negative",
         {"row": 2, "column": "spend", "value": "-10"}),
        ("month,spend\n2026-01,1e30\n", "'1e30' is not a non-negative amount below 10^12",
         {"row": 2, "column": "spend", "value": "1e30"}),
        ("month,spend\n2026-01,1000000000000.00\n", "is not a non-negative amount below 10^12",
         {"row": 2, "column": "spend", "value": "1000000000000.00"}),
        ("month,spend\n2026-01,\"1,200.00\"\n", "'1,200.00' is not a non-negative amount",
         {"row": 2, "column": "spend", "value": "1,200.00"}),
        ("month,cost\n2026-01,10\n", "the header has no column(s) spend (found 'month', 'cost')",
         {"row": 1, "column": "spend", "value": None}),
        ("", "the header has no column(s) month, spend (found none)",
         {"row": 1, "column": "month", "value": None}),
        ("month,spend\n2026-01\n", "row 2: 1 field(s), the header has 2",
         {"row": 2, "column": None, "value": None}),
    ],
)  # fmt: skip
def test_bad_marketing_spend_names_the_cell(
    text: str, message: str, detail: dict[str, object]
) -> None:
    with pytest.raises(InvalidCsv) as err:
        read_marketing_spend(text)
    assert message in err.value.message
    assert err.value.message.startswith("marketing spend: ")
    assert (err.value.code, err.value.status_code, err.value.detail) == (
        "invalid_csv", 422, detail,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("day,sessions\n2026-02-30,5\n", {"row": 2, "column": "day", "value": "2026-02-30"}),
        ("day,sessions\n2026-02-01,5.5\n", {"row": 2, "column": "sessions", "value": "5.5"}),
        (
            "day,sessions\n2026-02-01,1000000000000\n",
            {"row": 2, "column": "sessions", "value": "1000000000000"},
        ),
        (
            "day,sessions\n2026-02-01,1\n2026-02-01,2\n",
            {"row": 3, "column": "day", "value": "2026-02-01"},
        ),
        ("day,sessions\n2026-2-1,5\n", {"row": 2, "column": "day", "value": "2026-2-1"}),
        ("day,sessions\n2026-02-01,\x00\n", {"row": 1, "column": None, "value": None}),
    ],
)
def test_bad_sessions_name_the_cell(text: str, detail: dict[str, object]) -> None:
    with pytest.raises(InvalidCsv) as err:
        read_sessions(text)
    assert err.value.detail == detail
