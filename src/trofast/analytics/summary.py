"""From an order log to the per-customer summary the probability models need.

The buy-till-you-die models (BG/NBD, Pareto/NBD) and Gamma-Gamma see each customer only through
four numbers measured at a calibration end date:

- ``frequency`` (x): the number of *repeat* purchases, i.e. purchase occasions after the first;
- ``recency`` (t_x): the time from the first purchase to the last one;
- ``T``: the time from the first purchase to the calibration end;
- ``monetary_value``: the mean value of the repeat purchases (0 when there are none).

Assumptions
-----------
- A purchase occasion is a customer-day: orders placed by one customer on the same calendar day
  are summed into one purchase. This is how the CDNOW data were prepared for the published
  analyses (Fader, Hardie & Lee 2005) and what `lifetimes` and `pymc-marketing` do, so the
  parameters are comparable.
- The first purchase is the acquisition event and is not counted in ``frequency``; its value is
  excluded from ``monetary_value`` because it is often atypical (Fader, Hardie & Lee 2005b).
- Orders on the calibration end date belong to the calibration period.
- Time is measured in whole days and converted to the unit: a week is 7 days, a month is
  365.25 / 12 days.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, TypeAlias

import polars as pl
import pyarrow as pa

from trofast.analytics._occasions import customer_days
from trofast.analytics.errors import InvalidInput

Unit: TypeAlias = Literal["day", "week", "month"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0}

FrameLike: TypeAlias = pl.DataFrame | pl.LazyFrame | pa.Table
_EPOCH = date(1970, 1, 1)


def unit_days(unit: str) -> float:
    """Length of one time unit in days; raises `InvalidInput` for an unknown unit."""
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise InvalidInput(
            f"unknown time unit {unit!r}: use one of {', '.join(UNIT_DAYS)}",
            detail={"unit": unit},
        ) from None


def to_lazy(frame: FrameLike) -> pl.LazyFrame:
    if isinstance(frame, pa.Table):
        frame = pl.from_arrow(frame)
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    if isinstance(frame, pl.LazyFrame):
        return frame
    raise InvalidInput(f"expected a Polars or Arrow frame, got {type(frame).__name__}")


def order_days(
    orders: FrameLike, *, customer_col: str, date_col: str, amount_col: str
) -> pl.LazyFrame:
    """One row per order: ``customer_id, day, amount`` (Float64), the columns checked."""
    lf = to_lazy(orders)
    schema = lf.collect_schema()
    missing = [c for c in (customer_col, date_col, amount_col) if c not in schema]
    if missing:
        raise InvalidInput(
            f"the order log has no column(s) {', '.join(missing)}",
            detail={"missing": missing, "columns": list(schema.names())},
        )
    dtype = schema[date_col]
    if dtype == pl.Date:
        day = pl.col(date_col)
    elif isinstance(dtype, pl.Datetime):
        day = pl.col(date_col).dt.date()
    else:
        raise InvalidInput(
            f"column {date_col!r} must be a date or datetime, not {dtype}",
            detail={"column": date_col, "dtype": str(dtype)},
        )
    return lf.select(
        pl.col(customer_col).alias("customer_id"),
        day.alias("day"),
        pl.col(amount_col).cast(pl.Float64).alias("amount"),
    )


def purchase_occasions(
    orders: FrameLike,
    *,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.LazyFrame:
    """Normalise an order log to one row per customer-day: ``customer_id, day, amount``.

    The date column may be a ``Date`` or a ``Datetime`` (an aware datetime is cut to the
    calendar day in its own time zone, which is the shop's day).
    """
    return (
        order_days(orders, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        .group_by("customer_id", "day")
        .agg(pl.col("amount").sum())
    )


def _calibration_summary(
    order_days: pl.LazyFrame, calibration_end: date, days: float
) -> pl.DataFrame:
    """Frequency, recency, T and monetary value from the orders up to ``calibration_end``.

    Only the three needed columns are materialised, with the day as Int32; the aggregation is
    one integer sort (`trofast.analytics._occasions`), not two hash group-bys over every order.
    """
    frame = (
        order_days.filter(
            pl.col("day") <= pl.lit(calibration_end, dtype=pl.Date),
            pl.col("customer_id").is_not_null(),
        )
        .with_columns(pl.col("day").cast(pl.Int32))
        .collect()
    )
    if frame.height == 0:
        return pl.DataFrame(
            schema={
                "customer_id": frame.schema["customer_id"],
                "frequency": pl.Int64,
                "recency": pl.Float64,
                "T": pl.Float64,
                "monetary_value": pl.Float64,
            }
        )
    agg = customer_days(frame)
    # The arithmetic stays in Polars, as before this path existed, so the values are the same
    # to the last bit (Polars divides by a scalar differently from numpy).
    n = pl.col("n")
    return pl.DataFrame(
        {
            "customer_id": agg.customer_id,
            "n": agg.occasions,
            "first": agg.first_day,
            "last": agg.last_day,
            "total": agg.total,
            "first_amount": agg.first_total,
        }
    ).select(
        "customer_id",
        frequency=n - 1,
        recency=(pl.col("last") - pl.col("first")) / days,
        T=((calibration_end - _EPOCH).days - pl.col("first")) / days,
        monetary_value=pl.when(n > 1)
        .then((pl.col("total") - pl.col("first_amount")) / (n - 1))
        .otherwise(0.0),
    )


def summarize(
    orders: FrameLike,
    *,
    calibration_end: date,
    unit: Unit = "week",
    observation_end: date | None = None,
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """Per-customer frequency, recency, T and monetary value at ``calibration_end``.

    Parameters
    ----------
    orders
        One row per order (or per order line: lines of one day are summed anyway). A
        ``LazyFrame`` (e.g. ``pl.scan_parquet``) is read for the three columns only. Orders
        without a customer or a date are ignored; a missing amount counts as 0.
    calibration_end
        Last day of the calibration period (inclusive). Customers whose first purchase is later
        are not in the result.
    unit
        Time unit of ``recency``, ``T`` and ``duration_holdout``.
    observation_end
        When given, also count the purchases in the holdout period ``(calibration_end,
        observation_end]``: ``frequency_holdout`` (purchase occasions), ``monetary_value_holdout``
        (their mean value) and ``duration_holdout``.

    Returns
    -------
    polars.DataFrame
        ``customer_id, frequency, recency, T, monetary_value`` (+ holdout columns), sorted by
        ``customer_id``.
    """
    days = unit_days(unit)
    if observation_end is not None and observation_end <= calibration_end:
        raise InvalidInput("observation_end must be after calibration_end")
    columns = {"customer_col": customer_col, "date_col": date_col, "amount_col": amount_col}
    calib = _calibration_summary(order_days(orders, **columns), calibration_end, days)
    if observation_end is None:
        return calib
    cal_end = pl.lit(calibration_end, dtype=pl.Date)
    hold = (
        purchase_occasions(orders, **columns)
        .filter((pl.col("day") > cal_end) & (pl.col("day") <= pl.lit(observation_end)))
        .group_by("customer_id")
        .agg(
            frequency_holdout=pl.len().cast(pl.Int64),
            monetary_value_holdout=pl.col("amount").mean(),
        )
        .collect()
    )
    return calib.join(hold, on="customer_id", how="left").with_columns(
        pl.col("frequency_holdout").fill_null(0),
        pl.col("monetary_value_holdout").fill_null(0.0),
        duration_holdout=pl.lit((observation_end - calibration_end).days / days),
    )


def calibration_holdout_split(
    orders: FrameLike,
    *,
    calibration_end: date,
    observation_end: date,
    unit: Unit = "week",
    customer_col: str = "customer_id",
    date_col: str = "timestamp",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """The calibration summary with the holdout purchases of the same customers beside it.

    A thin, explicit name for `summarize` with an ``observation_end``: the frame used to check a
    forecast against what actually happened next.
    """
    return summarize(
        orders,
        calibration_end=calibration_end,
        observation_end=observation_end,
        unit=unit,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
