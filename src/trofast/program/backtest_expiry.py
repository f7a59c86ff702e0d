"""What becomes of each order's lot by the end of a backtest: redeemed, expired or still held.

One lot per member order (every award of an order shares its dates in the engine). A lot is
pending until `paid_at + return window`; from then an assumed share `rate` of it is spent
(floored per lot). What is left expires:

- `lot`: at `expiry.expires_after(paid_at)`;
- `inactivity`: every lot still open when `expires_after(last purchase)` passes without a
  new purchase (a purchase pushes all open lots out, as `repository.extend_open_lots` does);
- `none`: never.

Events at `end` or later are after the history: they are scheduled, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import polars as pl

from trofast.program.backtest_history import UTC_US
from trofast.program.document import Programme


@dataclass(frozen=True)
class Lots:
    redeemed: int
    expired: int  # before the end
    pending: int  # at the end
    available: int  # at the end
    scheduled: list[tuple[str, int]]  # (YYYY-MM, points) expiring at or after the end
    expired_at: pl.DataFrame  # at (Datetime), points: each expiry before the end


def expires_after(paid_at: pl.Expr, months: int, *, round_to_month_end: bool) -> pl.Expr:
    """`expiry.expires_after` vectorised: offset_by clamps the day as `add_months` does, and
    a month end is the first instant of the next month."""
    at = paid_at.dt.offset_by(f"{months}mo")
    return at.dt.truncate("1mo").dt.offset_by("1mo") if round_to_month_end else at


def settle_lots(programme: Programme, frame: pl.DataFrame, end: datetime, rate: Fraction) -> Lots:
    """`frame`: member orders sorted by `member_code` then `paid_at`, with `points`."""
    end_at = pl.lit(end, UTC_US)
    window = pl.duration(days=programme.pending.return_window_days)
    available_at = pl.col("paid_at") + window
    spent = (pl.col("points").cast(pl.Int128) * rate.numerator // rate.denominator).cast(pl.Int64)
    lots = frame.select("member_code", "paid_at", "points").with_columns(
        available_at.alias("available_at"),
        pl.when(available_at < end_at).then(spent).otherwise(0).alias("redeemed"),
    )
    lots = lots.with_columns((pl.col("points") - pl.col("redeemed")).alias("left"))
    policy = programme.expiry
    if policy.policy == "none" or policy.months is None:
        lots = lots.with_columns(pl.lit(None, UTC_US).alias("expires_at"))
    else:
        deadline = expires_after(
            pl.col("paid_at"), policy.months, round_to_month_end=policy.round_to_month_end
        )
        lots = lots.with_columns(deadline.alias("expires_at"))
        if policy.policy == "inactivity":
            lots = _inactivity(lots)
    expiring = pl.col("expires_at").is_not_null()
    expired = expiring & (pl.col("expires_at") < end_at)
    lots = lots.with_columns(expired.alias("expired"))
    held = lots.filter(~pl.col("expired"))
    pending = held.filter(pl.col("available_at") >= end_at)
    scheduled = (
        held.filter(expiring)
        .group_by(pl.col("expires_at").dt.strftime("%Y-%m").alias("month"))
        .agg(pl.col("left").sum())
        .filter(pl.col("left") > 0)
        .sort("month")
    )
    gone = lots.filter(pl.col("expired"), pl.col("left") > 0)
    return Lots(
        redeemed=int(lots.get_column("redeemed").sum()),
        expired=int(gone.get_column("left").sum()),
        pending=int(pending.get_column("left").sum()),
        available=int(held.get_column("left").sum()) - int(pending.get_column("left").sum()),
        scheduled=[(m, int(p)) for m, p in scheduled.rows()],
        expired_at=gone.select(pl.col("expires_at").alias("at"), pl.col("left").alias("points")),
    )


def _inactivity(lots: pl.DataFrame) -> pl.DataFrame:
    """Each lot expires at the deadline of the last purchase before the member lapsed."""
    member = "member_code"
    following = pl.col("paid_at").shift(-1).over(member)
    lapse = following.is_null() | (following >= pl.col("expires_at"))
    lots = lots.with_columns(lapse.alias("lapse"))
    spell = pl.col("lapse").shift(1, fill_value=False).cum_sum().over(member)
    lots = lots.with_columns(spell.alias("spell"))
    return lots.with_columns(pl.col("expires_at").last().over(member, "spell"))
