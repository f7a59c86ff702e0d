"""Loyalty-programme KPIs as pure functions over frames.

Every function takes the frames it needs and returns a small frozen dataclass; none reads a
database. Every ratio is 0.0 when its denominator is empty (an empty shop, a programme with no
points yet), and the counts beside it say how much data it rests on.

Frames
------
- customers: ``customer_id, is_member`` (bool)
- orders: ``customer_id, timestamp`` (date or datetime), ``amount``
- ledger: ``customer_id, timestamp, kind, points`` with signed integer points as the ledger
  stores them: ``earn`` > 0, ``redeem`` < 0, ``expire`` < 0, ``adjust`` either way
- marketing spend: ``month`` (any date in the month), ``spend``
- sessions: ``day`` (date), ``sessions``
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from trofast.analytics.errors import InvalidInput
from trofast.analytics.summary import FrameLike, to_lazy


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _frame(frame: FrameLike, columns: Iterable[str], name: str) -> pl.DataFrame:
    df = to_lazy(frame).collect()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInput(f"{name} has no column(s) {', '.join(missing)}")
    return df


def _day(df: pl.DataFrame, col: str) -> pl.Expr:
    return pl.col(col).dt.date() if isinstance(df.schema[col], pl.Datetime) else pl.col(col)


@dataclass(frozen=True)
class MembershipShare:
    customers: int
    members: int
    customer_share: float
    revenue: float
    member_revenue: float
    revenue_share: float


def membership_share(customers: FrameLike, orders: FrameLike) -> MembershipShare:
    """Members' share of customers and of revenue."""
    cust = _frame(customers, ("customer_id", "is_member"), "customers")
    ords = _frame(orders, ("customer_id", "amount"), "orders")
    members = cust.filter(pl.col("is_member"))["customer_id"]
    revenue = float(ords["amount"].sum())
    member_revenue = float(
        ords.filter(pl.col("customer_id").is_in(members.implode()))["amount"].sum()
    )
    return MembershipShare(
        customers=cust.height,
        members=members.len(),
        customer_share=_ratio(members.len(), cust.height),
        revenue=revenue,
        member_revenue=member_revenue,
        revenue_share=_ratio(member_revenue, revenue),
    )


@dataclass(frozen=True)
class Participation:
    members: int
    active_earners: int
    active_redeemers: int
    earner_share: float  # of members
    redeemer_share: float


def participation(
    customers: FrameLike, ledger: FrameLike, *, at: date, window_days: int = 365
) -> Participation:
    """Members who earned / redeemed points in the ``window_days`` up to and including ``at``."""
    cust = _frame(customers, ("customer_id", "is_member"), "customers")
    led = _frame(ledger, ("customer_id", "timestamp", "kind"), "ledger")
    # Clamped at the first representable day: a window reaching before year 1 starts there.
    since = at - timedelta(days=min(window_days, (at - date.min).days))
    recent = led.filter(_day(led, "timestamp").is_between(since, at, closed="right"))
    members = int(cust["is_member"].sum())
    earners = recent.filter(pl.col("kind") == "earn")["customer_id"].n_unique()
    redeemers = recent.filter(pl.col("kind") == "redeem")["customer_id"].n_unique()
    return Participation(
        members, earners, redeemers, _ratio(earners, members), _ratio(redeemers, members)
    )


@dataclass(frozen=True)
class PointsKpis:
    earned: int
    redeemed: int
    expired: int
    outstanding: int
    redemption_rate: float  # redeemed / earned
    breakage_rate: (
        float  # expired / (redeemed + expired): of the points that left, the unused share
    )
    liability: float  # outstanding points in currency
    liability_net_of_breakage: float  # what the outstanding points are expected to cost


def points_kpis(ledger: FrameLike, *, value_per_point: float) -> PointsKpis:
    """Redemption rate, breakage and points liability in currency.

    Breakage is measured on the points whose fate is known (redeemed or expired); applying it
    to the outstanding balance gives the liability net of expected breakage.
    """
    led = _frame(ledger, ("kind", "points"), "ledger")

    def total(kind: str) -> int:
        return int(led.filter(pl.col("kind") == kind)["points"].sum())

    earned, redeemed, expired = total("earn"), -total("redeem"), -total("expire")
    outstanding = int(led["points"].sum())
    breakage = _ratio(expired, redeemed + expired)
    return PointsKpis(
        earned=earned,
        redeemed=redeemed,
        expired=expired,
        outstanding=outstanding,
        redemption_rate=_ratio(redeemed, earned),
        breakage_rate=breakage,
        liability=outstanding * value_per_point,
        liability_net_of_breakage=outstanding * value_per_point * (1 - breakage),
    )


@dataclass(frozen=True)
class GroupBehaviour:
    group: str  # "members" or "non-members"
    customers: int
    orders: int
    revenue: float
    average_order_value: float
    purchase_frequency: float  # orders per customer
    retention: float  # share of customers with a repeat order


def members_vs_non_members(customers: FrameLike, orders: FrameLike) -> list[GroupBehaviour]:
    """AOV, frequency and retention of members beside non-members.

    A plain comparison, biased by who chose to join; the programme's causal effect needs the
    holdout groups of the lifecycle flows.
    """
    cust = _frame(customers, ("customer_id", "is_member"), "customers")
    ords = _frame(orders, ("customer_id", "amount"), "orders")
    per_customer = ords.group_by("customer_id").agg(n=pl.len(), revenue=pl.col("amount").sum())
    out = []
    for group, flag in (("members", True), ("non-members", False)):
        ids = cust.filter(pl.col("is_member") == flag).select("customer_id")
        rows = ids.join(per_customer, on="customer_id", how="inner")
        n_orders = int(rows["n"].sum())
        revenue = float(rows["revenue"].sum())
        buyers = rows.height
        out.append(
            GroupBehaviour(
                group=group,
                customers=ids.height,
                orders=n_orders,
                revenue=revenue,
                average_order_value=_ratio(revenue, n_orders),
                purchase_frequency=_ratio(n_orders, buyers),
                retention=_ratio(int((rows["n"] >= 2).sum()), buyers),
            )
        )
    return out


@dataclass(frozen=True)
class SurveyScore:
    responses: int
    score: float


def nps(scores: Iterable[int]) -> SurveyScore:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""
    values = list(scores)
    if any(not 0 <= v <= 10 for v in values):
        raise InvalidInput("NPS answers must be between 0 and 10")
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return SurveyScore(len(values), 100 * _ratio(promoters - detractors, len(values)))


def csat(scores: Iterable[int], *, satisfied_from: int = 4, scale_max: int = 5) -> SurveyScore:
    """Customer satisfaction: % of answers at ``satisfied_from`` or above on a 1-5 scale."""
    values = list(scores)
    if any(not 1 <= v <= scale_max for v in values):
        raise InvalidInput(f"CSAT answers must be between 1 and {scale_max}")
    return SurveyScore(
        len(values), 100 * _ratio(sum(v >= satisfied_from for v in values), len(values))
    )


def _acquired(orders: pl.DataFrame, spend: pl.DataFrame) -> pl.DataFrame:
    """``customer_id`` of the customers whose first order falls in a month of ``spend``."""
    months = spend.select(month=_day(spend, "month").dt.truncate("1mo"))["month"].unique()
    firsts = orders.group_by("customer_id").agg(first=_day(orders, "timestamp").min())
    return firsts.filter(pl.col("first").dt.truncate("1mo").is_in(months.implode())).select(
        "customer_id"
    )


@dataclass(frozen=True)
class AcquiredValue:
    customers: int  # acquired in the months of the spend file
    realised: float  # margin x their net revenue so far
    predicted: float  # their predicted CLV over the model's horizon
    average_clv: float  # (realised + predicted) / customers


def acquired_customer_value(
    orders: FrameLike, marketing_spend: FrameLike, predicted_clv: FrameLike, *, margin: float
) -> AcquiredValue:
    """Lifetime value of the customers the spend acquired: what they have brought so far
    (margin x net revenue) plus what they are predicted to bring.

    ``predicted_clv`` has ``customer_id, clv``; a customer missing from it, or with a null
    CLV, counts with what they brought so far only. The customers are those whose first order
    falls in a month of ``marketing_spend``, as in `clv_to_cac`, so CLV and CAC describe the
    same people.
    """
    ords = _frame(orders, ("customer_id", "timestamp", "amount"), "orders")
    spend = _frame(marketing_spend, ("month",), "marketing spend")
    clv = _frame(predicted_clv, ("customer_id", "clv"), "predicted CLV")
    acquired = _acquired(ords, spend)
    revenue = acquired.join(ords, on="customer_id", how="inner")["amount"].sum()
    predicted = acquired.join(clv, on="customer_id", how="inner")["clv"].fill_nan(None).sum()
    realised = margin * float(revenue)
    total = realised + float(predicted)
    return AcquiredValue(acquired.height, realised, float(predicted),
                         _ratio(total, acquired.height))  # fmt: skip


@dataclass(frozen=True)
class ClvCac:
    marketing_spend: float
    new_customers: int
    cac: float  # spend per new customer
    average_clv: float
    ratio: float  # CLV : CAC


def clv_to_cac(orders: FrameLike, marketing_spend: FrameLike, *, average_clv: float) -> ClvCac:
    """CLV:CAC with CAC = spend in the months given / customers acquired in those months."""
    ords = _frame(orders, ("customer_id", "timestamp"), "orders")
    spend = _frame(marketing_spend, ("month", "spend"), "marketing spend")
    new = _acquired(ords, spend).height
    total = float(spend["spend"].sum())
    cac = _ratio(total, new)
    return ClvCac(total, new, cac, average_clv, _ratio(average_clv, cac))


@dataclass(frozen=True)
class Conversion:
    sessions: int
    orders: int
    rate: float


def conversion_rate(sessions: FrameLike, orders: FrameLike) -> Conversion:
    """Orders per session over the days the sessions file covers.

    ``orders`` is one row per order (``timestamp``), or one row per day with the day's count
    in an ``orders`` column. Count every order the sessions could have led to, guest orders
    included: the sessions are every visitor's.
    """
    sess = _frame(sessions, ("day", "sessions"), "sessions")
    ords = _frame(orders, ("timestamp",), "orders")
    days = sess.select(day=_day(sess, "day"))["day"]
    on_days = ords.filter(_day(ords, "timestamp").is_in(days.implode()))
    n_orders = int(on_days["orders"].sum()) if "orders" in ords.columns else on_days.height
    n_sessions = int(sess["sessions"].sum())
    return Conversion(n_sessions, n_orders, _ratio(n_orders, n_sessions))
