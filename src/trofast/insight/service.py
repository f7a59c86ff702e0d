"""Read-side use cases of the analytics API: RFM, cohorts, KPIs and stored predictions.

RFM, cohorts and KPIs are computed on request from the orders (and ledger) up to ``at``, by
the pure library; predictions are read from the last refresh, because fitting is a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy.orm import Session

from trofast.analytics import kpis
from trofast.analytics.cohorts import RepeatMetrics, cohort_table, repeat_metrics
from trofast.analytics.errors import InvalidInput
from trofast.analytics.rfm import DEFAULT_SEGMENT_MAP, rfm_table, segment_counts, segment_migration
from trofast.insight import loader, repository
from trofast.insight.errors import AnalyticsNotRefreshed, CustomerMetricsNotFound
from trofast.models import AnalyticsFit, CustomerMetric


@dataclass(frozen=True)
class RfmOverview:
    at: date
    since: date | None
    customers: int
    segments: list[dict[str, object]]  # segment, customers, revenue
    grid: list[dict[str, object]]  # r_score, fm_score, segment, customers
    movement: list[dict[str, object]] | None  # from_segment, to_segment, customers


def rfm_overview(session: Session, *, at: date, since: date | None = None) -> RfmOverview:
    """Segment counts and the 5 x 5 grid at ``at``; with ``since``, how customers moved."""
    if since is not None and since >= at:
        raise InvalidInput("`since` must be before `at`", detail={"since": str(since)})
    orders = loader.load_orders(session, until=at)
    table = rfm_table(orders, at)
    counts = table.group_by("r_score", "fm_score").agg(customers=pl.len())
    grid = (
        DEFAULT_SEGMENT_MAP.frame()
        .join(counts, on=["r_score", "fm_score"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .sort("r_score", "fm_score", descending=[True, False])
    )
    segments = segment_counts(table).with_columns(pl.col("revenue").round(0).cast(pl.Int64))
    movement = None
    if since is not None:
        movement = segment_migration(orders, since, at).to_dicts()
    return RfmOverview(
        at=at,
        since=since,
        customers=table.height,
        segments=segments.to_dicts(),
        grid=grid.to_dicts(),
        movement=movement,
    )


@dataclass(frozen=True)
class CohortOverview:
    at: date
    cohorts: list[dict[str, object]]
    repeat: RepeatMetrics


def cohort_overview(session: Session, *, at: date, churn_days: int = 180) -> CohortOverview:
    orders = loader.load_orders(session, until=at)
    table = cohort_table(orders).with_columns(pl.col("revenue").round(0).cast(pl.Int64))
    repeat = repeat_metrics(orders, at=at, churn_days=churn_days)
    return CohortOverview(at, table.to_dicts(), repeat)


@dataclass(frozen=True)
class KpiOverview:
    at: date
    window_days: int
    point_value_minor: float
    repeat: RepeatMetrics
    membership: kpis.MembershipShare
    participation: kpis.Participation
    points: kpis.PointsKpis
    groups: list[kpis.GroupBehaviour]


def kpi_overview(
    session: Session, *, at: date, point_value_minor: float, window_days: int = 365
) -> KpiOverview:
    """Programme KPIs at ``at``; every ratio is 0 on an empty shop or an empty ledger."""
    orders = loader.load_orders(session, until=at)
    customers = loader.load_customers(session)
    ledger = loader.load_ledger(session, until=at)
    return KpiOverview(
        at=at,
        window_days=window_days,
        point_value_minor=point_value_minor,
        repeat=repeat_metrics(orders, at=at),
        membership=kpis.membership_share(customers, orders),
        participation=kpis.participation(customers, ledger, at=at, window_days=window_days),
        points=kpis.points_kpis(ledger, value_per_point=point_value_minor),
        groups=kpis.members_vs_non_members(customers, orders),
    )


def customer_predictions(session: Session, customer_id: int) -> tuple[CustomerMetric, AnalyticsFit]:
    """The customer's row of the last refresh and that refresh's fit."""
    fit = repository.latest_fit(session)
    if fit is None:
        raise AnalyticsNotRefreshed(
            "no analytics refresh has run yet: run `trofast analytics refresh`"
        )
    row = repository.metric(session, customer_id)
    if row is None:
        raise CustomerMetricsNotFound(
            f"customer {customer_id} has no metrics in the last refresh "
            f"(unknown, or no order by {fit.calibration_end})",
            detail={"customer_id": customer_id, "fit_id": fit.id},
        )
    return row, fit
