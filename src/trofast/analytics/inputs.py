"""The merchant's own figures behind two KPIs: marketing spend per month and sessions per day.

Neither is in the order history, so the merchant hands them over as small CSV files (one row
a month, one row a day) that these readers turn into frames for `trofast.analytics.kpis`:

- marketing spend, for CAC and CLV:CAC: columns ``month`` (``YYYY-MM``, or any
  ``YYYY-MM-DD`` in the month) and ``spend`` (a decimal amount, ``1234.50``);
- sessions, for the conversion rate: columns ``day`` (``YYYY-MM-DD``) and ``sessions`` (a
  whole number).

Column names are matched case-insensitively and other columns are ignored. The separator is
a comma or, as spreadsheets in comma-decimal locales write it, a semicolon; with a semicolon
a decimal comma is read too (``1234,50``). A month or day given twice is refused rather than
summed, because a merchant re-exporting a period means to replace it, not to double it.

Every refusal is an `InvalidCsv` whose ``detail`` names the row (the file's line number,
the header being line 1), the column and the value, so the merchant can fix the cell.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from trofast.analytics.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_INTEGER = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^\d+(?:\.\d+)?$")
MAX_ROWS = 100_000  # ~270 years of days: anything longer is not a sessions file
# Far above any shop's month or day, and low enough that minor units and sums over
# MAX_ROWS rows stay exact in a 64-bit integer.
MAX_VALUE = 10**12


class InvalidCsv(InvalidInput):
    default_code = "invalid_csv"


def _refuse(kind: str, row: int, column: str | None, value: str | None, why: str) -> InvalidCsv:
    where = f"row {row}" + (f", column {column!r}" if column else "")
    return InvalidCsv(
        f"{kind}: {where}: {why}", detail={"row": row, "column": column, "value": value}
    )


def _rows(text: str, kind: str, columns: tuple[str, str]) -> tuple[list[tuple[int, str, str]], str]:
    """(line number, first value, second value) per data row, and the separator used."""
    if "\x00" in text:
        raise _refuse(kind, 1, None, None, "the file contains NUL bytes (not a text CSV)")
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0] if lines else ""
    separator = ";" if ";" in header and "," not in header else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=separator, strict=True)
    try:
        names = [n.strip().lower() for n in next(reader, [])]
    except csv.Error as exc:
        raise _refuse(kind, 1, None, None, f"unreadable header ({exc})") from None
    missing = [c for c in columns if c not in names]
    if missing:
        found = ", ".join(repr(n) for n in names if n) or "none"
        raise InvalidCsv(
            f"{kind}: the header has no column(s) {', '.join(missing)} (found {found})",
            detail={"row": 1, "column": missing[0], "value": None},
        )
    first, second = (names.index(c) for c in columns)
    out: list[tuple[int, str, str]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines, as spreadsheets leave at the end
            if len(out) >= MAX_ROWS:
                raise _refuse(kind, line, None, None, f"more than {MAX_ROWS:,} rows")
            if len(record) <= max(first, second):
                raise _refuse(kind, line, None, None,
                              f"{len(record)} field(s), the header has {len(names)}")  # fmt: skip
            out.append((line, record[first].strip(), record[second].strip()))
    except csv.Error as exc:
        raise _refuse(kind, reader.line_num, None, None, f"not valid CSV ({exc})") from None
    return out, separator


def _parse(
    text: str,
    kind: str,
    columns: tuple[str, str],
    key: Callable[[str], date | None],
    key_hint: str,
    value: Callable[[str, str], float | int | None],
    value_hint: str,
) -> tuple[list[date], list[Any]]:
    rows, separator = _rows(text, kind, columns)
    keys: list[date] = []
    values: list[Any] = []
    seen: dict[date, int] = {}
    for line, raw_key, raw_value in rows:
        parsed_key = key(raw_key)
        if parsed_key is None:
            raise _refuse(kind, line, columns[0], raw_key, f"{raw_key!r} is not {key_hint}")
        if parsed_key in seen:
            raise _refuse(kind, line, columns[0], raw_key,
                          f"{parsed_key:%Y-%m-%d} is also on row {seen[parsed_key]}")  # fmt: skip
        parsed_value = value(raw_value, separator)
        if parsed_value is None:
            raise _refuse(kind, line, columns[1], raw_value,
                          f"{raw_value!r} is not {value_hint}")  # fmt: skip
        seen[parsed_key] = line
        keys.append(parsed_key)
        values.append(parsed_value)
    return keys, values


def _month(text: str) -> date | None:
    match = _MONTH.match(text)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        date(int(year), int(month), int(day or 1))  # a real day when one is given
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _day(text: str) -> date | None:
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _amount(text: str, separator: str) -> float | None:
    if separator == ";":
        text = text.replace(",", ".")
    if not _DECIMAL.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) and value < MAX_VALUE else None


def _count(text: str, _separator: str) -> int | None:
    return int(text) if _INTEGER.match(text) and int(text) < MAX_VALUE else None


def read_marketing_spend(text: str) -> pl.DataFrame:
    """``month`` (Date, the first of the month) and ``spend`` (Float64, ≥ 0), one row a month."""
    months, spend = _parse(
        text, "marketing spend", ("month", "spend"), _month,
        "a month (YYYY-MM or YYYY-MM-DD)", _amount,
        "a non-negative amount below 10^12 such as 1234.50",
    )  # fmt: skip
    return pl.DataFrame(
        {"month": months, "spend": spend}, schema={"month": pl.Date, "spend": pl.Float64}
    ).sort("month")


def read_sessions(text: str) -> pl.DataFrame:
    """``day`` (Date) and ``sessions`` (Int64, ≥ 0), one row a day."""
    days, sessions = _parse(
        text, "sessions", ("day", "sessions"), _day, "a day (YYYY-MM-DD)",
        _count, "a whole number of sessions (below 10^12)",
    )  # fmt: skip
    return pl.DataFrame(
        {"day": days, "sessions": sessions}, schema={"day": pl.Date, "sessions": pl.Int64}
    ).sort("day")
