"""Backtest: replay an order history through a draft programme, touching no ledger.

`run(programme, history)` answers "what would this programme have cost?": points issued (in
all and per rule, with each rule's share), points redeemed under an assumed redemption rate,
expired within the history and scheduled to expire after it, still pending and available at
its end, the liability in currency, and members per tier at each month end.

How it replays (the live engine's semantics, `program/engine.py` and `tiering.py`):

- Every customer of the history is a member from their first order (automatic enrolment);
  orders without a customer earn nothing but are counted. Orders are never refunded or
  cancelled; action and birthday rules are not replayed (no events).
- An order earns when it is paid (`paid_at`; a file's orders are paid when placed) what
  `earning.evaluate` gives it (`backtest_earning`, vectorised and checked against it), with
  campaigns matched on when it was placed, at the tier the member holds when it is paid
  (`backtest_tiers`). The first order is the first paid.
- One lot per order, effective at its payment, pending for the return window; a share
  `redemption_rate` of each lot is assumed spent as soon as it is available (default 0: no
  redemptions). Lot expiry: `expiry.expires_after` the payment; inactivity: the whole
  balance at `expires_after` the last purchase when no purchase came before it.
- The history ends at `end` (exclusive; default: the end of the month of the last payment);
  orders paid from `end` on are left out. What happens at `end` or later (expiry, reviews,
  pending points becoming available) is after it. Orders per month count placements, points
  issued per month payments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

from trofast.kit.money import currency_exponent
from trofast.program.backtest_earning import OrderPoints, order_points
from trofast.program.backtest_expiry import Lots, settle_lots
from trofast.program.backtest_history import UTC_US, BacktestError, History
from trofast.program.backtest_tiers import (
    CHANGE_SCHEMA,
    simulate,
    to_us,
    window_starts,
)
from trofast.program.document import Programme
from trofast.program.expiry import month_end
from trofast.program.tiers import spend_factors

__all__ = ["BacktestError", "BacktestReport", "RuleShare", "run"]

NOT_REPLAYED = ("action", "birthday")


@dataclass(frozen=True)
class RuleShare:
    rule: str
    kind: str
    points: int
    share: Fraction  # of all points issued


@dataclass(frozen=True)
class BacktestReport:
    programme: str
    currency: str
    start: datetime | None
    end: datetime
    orders: int
    member_orders: int
    members: int
    revenue_minor: dict[str, int]  # net merchandise value of all orders, per currency
    issued: int
    redeemed: int
    expired: int
    pending: int
    available: int
    point_value_minor: Decimal
    rules: list[RuleShare]
    not_replayed: list[str]
    expiry_scheduled: list[tuple[str, int]]  # (month "YYYY-MM", points) after the end
    levels: list[str]
    months: list[dict[str, Any]] = field(default_factory=list)
    redemption_rate: Fraction = Fraction(0)

    @property
    def outstanding(self) -> int:
        return self.pending + self.available

    @property
    def liability_minor(self) -> Decimal:
        return self.outstanding * self.point_value_minor

    @property
    def liability(self) -> Decimal:
        """In the programme currency's major unit."""
        return self.liability_minor.scaleb(-currency_exponent(self.currency))

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "currency": self.currency,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "assumptions": {
                "redemption_rate": str(
                    Decimal(self.redemption_rate.numerator)
                    / Decimal(self.redemption_rate.denominator)
                ),
                "refunds": "none replayed",
                "not_replayed_rules": self.not_replayed,
            },
            "orders": self.orders,
            "member_orders": self.member_orders,
            "members": self.members,
            "revenue_minor": self.revenue_minor,
            "points": {
                "issued": self.issued,
                "redeemed": self.redeemed,
                "expired": self.expired,
                "pending": self.pending,
                "available": self.available,
                "outstanding": self.outstanding,
            },
            "liability": {
                "points": self.outstanding,
                "point_value_minor": str(self.point_value_minor),
                "minor": str(self.liability_minor),
                "amount": str(self.liability),
                "currency": self.currency,
            },
            "rules": [
                {"rule": r.rule, "kind": r.kind, "points": r.points, "share": float(r.share)}
                for r in self.rules
            ],
            "expiry_scheduled": [{"month": m, "points": p} for m, p in self.expiry_scheduled],
            "levels": self.levels,
            "months": self.months,
        }


def run(
    programme: Programme,
    history: History,
    *,
    end: datetime | None = None,
    redemption_rate: Fraction = Fraction(0),
) -> BacktestReport:
    if not 0 <= redemption_rate <= 1:
        raise BacktestError("the redemption rate is a share between 0 and 1", code="invalid_rate")
    if end is not None:
        if end.tzinfo is None:
            raise BacktestError("the end needs a time zone", code="invalid_end")
        end = end.astimezone(UTC)
        history = _before(history, end)
    orders = history.orders
    start = orders.get_column("placed_at").min() if not history.empty else None
    if end is None:
        last = orders.get_column("paid_at").max()
        end = month_end(last) if isinstance(last, datetime) else datetime.now(UTC)
    assert start is None or isinstance(start, datetime)

    points = order_points(programme, history)
    frame, tier_totals, changes = _with_tiers(programme, points, to_us(end))
    lots = settle_lots(programme, frame, end, redemption_rate)
    rules = _rule_shares(points, frame, tier_totals)
    issued = int(frame.get_column("points").sum())
    revenue = (
        history.lines.join(orders.select("order", "currency"), on="order")
        .group_by("currency")
        .agg(pl.col("value").sum())
    )
    return BacktestReport(
        programme=programme.name,
        currency=programme.currency,
        start=start,
        end=end,
        orders=orders.height,
        member_orders=frame.height,
        members=frame.get_column("member").n_unique(),
        revenue_minor={c: int(v) for c, v in sorted(revenue.rows())},
        issued=issued,
        redeemed=lots.redeemed,
        expired=lots.expired,
        pending=lots.pending,
        available=lots.available,
        point_value_minor=programme.point_value_minor,
        rules=rules,
        not_replayed=[r.id for r in programme.earning if r.kind in NOT_REPLAYED],
        expiry_scheduled=lots.scheduled,
        levels=[lv.id for lv in programme.tiers.levels] if programme.tiers else [],
        months=_months(programme, orders, frame, lots, changes, start, end),
        redemption_rate=redemption_rate,
    )


def _before(history: History, end: datetime) -> History:
    orders = history.orders.filter(pl.col("paid_at") < pl.lit(end, UTC_US))
    lines = history.lines.join(orders.select("order"), on="order", how="semi")
    return History(orders, lines)


def _with_tiers(
    programme: Programme, points: OrderPoints, end_us: int
) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Orders sorted by member and time with `points` (all rules, tier included)."""
    base = pl.sum_horizontal([pl.col(c.column) for c in points.rules] or [pl.lit(0, pl.Int64)])
    frame = points.frame.sort("member", "paid_at", "order").with_columns(
        base.cast(pl.Int64).alias("base"),
        pl.col("member").rle_id().cast(pl.Int64).alias("member_code"),
    )
    tiers = programme.tiers
    if tiers is None or frame.is_empty():
        frame = frame.with_columns(pl.col("base").alias("points"), pl.lit(0).alias("level"))
        return frame, {}, pl.DataFrame(schema=CHANGE_SCHEMA)
    ranks = {level.id: i for i, level in enumerate(tiers.levels)}
    # Through with_columns, which broadcasts: a lifetime window starts at a literal 0, and a
    # literal alone in a select is one row, not one per order.
    starts = frame.with_columns(
        window_starts(tiers, pl.col("paid_at")).alias("window_start")
    ).get_column("window_start")
    factors = spend_factors(tiers, programme.currency)
    codes = {code: i for i, code in enumerate(factors)}
    run_ = simulate(
        tiers,
        member=frame.get_column("member_code").to_numpy(),
        paid_us=frame.get_column("paid_at").dt.epoch("us").to_numpy(),
        start_us=starts.to_numpy(),
        base=frame.get_column("base").to_numpy(),
        spend=frame.get_column("spend").to_numpy(),
        spend_code=frame.get_column("currency")
        .replace_strict(codes, default=-1, return_dtype=pl.Int64)
        .to_numpy(),
        spend_factors=list(factors.values()),
        tier_points={
            ranks[i]: frame.get_column(c.column).to_numpy() for i, c in points.tiers.items()
        },
        end_us=end_us,
    )
    frame = frame.with_columns(
        pl.Series("tier_points", run_.tier_points),
        pl.Series("level", run_.level),
    ).with_columns((pl.col("base") + pl.col("tier_points")).alias("points"))
    totals: dict[str, int] = {}
    for level_id, column in points.tiers.items():
        mask = run_.level == ranks[level_id]
        totals[column.rule] = int(np.sum(run_.tier_points[mask]))
    return frame, totals, run_.changes


def _rule_shares(
    points: OrderPoints, frame: pl.DataFrame, tier_totals: dict[str, int]
) -> list[RuleShare]:
    sums = frame.select(pl.col(c.column).sum() for c in points.rules).row(0) if points.rules else ()
    rows = [(c.rule, c.kind, int(s or 0)) for c, s in zip(points.rules, sums, strict=True)]
    rows += [(rule, "tier_multiplier", total) for rule, total in tier_totals.items()]
    issued = sum(p for _, _, p in rows)
    return [RuleShare(r, k, p, Fraction(p, issued) if issued else Fraction(0)) for r, k, p in rows]


def _months(
    programme: Programme,
    orders: pl.DataFrame,
    frame: pl.DataFrame,
    lots: Lots,
    changes: pl.DataFrame,
    start: datetime | None,
    end: datetime,
) -> list[dict[str, Any]]:
    """One row per calendar month of the history: orders, points, and tiers at its end."""
    if start is None:
        return []
    month = pl.col("at").dt.strftime("%Y-%m").alias("month")
    months = pl.datetime_range(
        start.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        end,
        "1mo",
        time_unit="us",
        time_zone="UTC",
        closed="left",
        eager=True,
    )
    table = pl.DataFrame({"at": months}).select(month)
    per_month = [
        orders.select(pl.col("placed_at").alias("at"))
        .group_by(month)
        .agg(pl.len().alias("orders")),
        frame.select(pl.col("paid_at").alias("at"), "points")
        .group_by(month)
        .agg(pl.col("points").sum().alias("issued")),
        lots.expired_at.group_by(month).agg(pl.col("points").sum().alias("expired")),
    ]
    for part in per_month:
        table = table.join(part, on="month", how="left")
    table = table.with_columns(pl.exclude("month").fill_null(0))
    rows = table.to_dicts()
    if programme.tiers is not None:
        _tier_counts(programme, rows, changes)
    return rows


def _tier_counts(programme: Programme, rows: list[dict[str, Any]], changes: pl.DataFrame) -> None:
    """Members per level at each month end, and upgrades and downgrades during the month."""
    assert programme.tiers is not None
    ids = [level.id for level in programme.tiers.levels]
    at = pl.from_epoch(pl.col("at"), time_unit="us").dt.replace_time_zone("UTC")
    events = changes.with_columns(at.dt.strftime("%Y-%m").alias("month"))
    moves = pl.concat(
        [
            events.select("month", pl.col("to_level").alias("level"), pl.lit(1).alias("delta")),
            events.filter(pl.col("from_level") >= 0).select(
                "month", pl.col("from_level").alias("level"), pl.lit(-1).alias("delta")
            ),
        ]
    )
    net = {
        (m, lv): d
        for m, lv, d in moves.group_by("month", "level").agg(pl.col("delta").sum()).rows()
    }
    ups = events.filter(pl.col("to_level") > pl.col("from_level"), pl.col("from_level") >= 0)
    downs = events.filter(pl.col("to_level") < pl.col("from_level"))
    up_count = dict(ups.group_by("month").len().rows())
    down_count = dict(downs.group_by("month").len().rows())
    held = [0] * len(ids)
    for row in rows:
        for rank in range(len(ids)):
            held[rank] += net.get((row["month"], rank), 0)
        row["members"] = dict(zip(ids, held, strict=True))
        row["upgrades"] = up_count.get(row["month"], 0)
        row["downgrades"] = down_count.get(row["month"], 0)
