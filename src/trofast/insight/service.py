"""Read-side use cases of the analytics API: RFM, cohorts, KPIs and stored predictions.

RFM, cohorts and KPIs are computed on request from the orders (and ledger) up to ``at``, by
the pure library; predictions are read from the last refresh, because fitting is a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
from sqlalchemy.orm import Session

from trofast.analytics import inputs, kpis
from trofast.analytics.cohorts import RepeatMetrics, cohort_table, repeat_metrics
from trofast.analytics.errors import InvalidInput
from trofast.analytics.rfm import DEFAULT_SEGMENT_MAP, rfm_table, segment_counts, segment_migration
from trofast.insight import loader, repository
from trofast.insight.errors import AnalyticsNotRefreshed, CustomerMetricsNotFound
from trofast.insight.refresh import THIN_DATA_REPEAT_BUYERS
from trofast.kit.money import to_minor
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


# Why a KPI is missing from the overview, by stable code.
SURVEYS_NOT_RECORDED = (
    "Survey answers are not stored: an `action.completed` event records that a survey was "
    "answered (to award points), not the score. NPS and CSAT need survey answers in the "
    "database, which Trofast does not model yet."
)


@dataclass(frozen=True)
class Unavailable:
    kpi: str
    code: str
    detail: str


@dataclass(frozen=True)
class DataStatus:
    status: str  # no_orders | thin | ok
    customers: int
    repeat_customers: int
    message: str | None


@dataclass(frozen=True)
class CacOverview:
    months: int  # months of marketing spend up to `at`
    cac: kpis.ClvCac
    value: kpis.AcquiredValue
    fit_id: int  # the refresh whose predicted CLV is used
    clv_months: int


@dataclass(frozen=True)
class ConversionOverview:
    days: int  # days of sessions up to `at`
    conversion: kpis.Conversion


@dataclass(frozen=True)
class KpiOverview:
    at: date
    window_days: int
    point_value_minor: float
    data: DataStatus
    repeat: RepeatMetrics
    membership: kpis.MembershipShare
    participation: kpis.Participation
    points: kpis.PointsKpis
    groups: list[kpis.GroupBehaviour]
    nps: kpis.SurveyScore | None
    csat: kpis.SurveyScore | None
    clv_to_cac: CacOverview | None
    conversion: ConversionOverview | None
    unavailable: list[Unavailable]


def kpi_overview(
    session: Session, *, at: date, point_value_minor: float, window_days: int = 365
) -> KpiOverview:
    """Programme KPIs at ``at``; every ratio is 0 on an empty shop or an empty ledger, and a
    KPI whose inputs are missing is None with its reason in ``unavailable``."""
    orders = loader.load_orders(session, until=at)
    customers = loader.load_customers(session)
    ledger = loader.load_ledger(session, until=at)
    repeat = repeat_metrics(orders, at=at)
    unavailable = [
        Unavailable("nps", "surveys_not_recorded", SURVEYS_NOT_RECORDED),
        Unavailable("csat", "surveys_not_recorded", SURVEYS_NOT_RECORDED),
    ]
    cac = _clv_to_cac(session, orders, at, unavailable)
    return KpiOverview(
        at=at,
        window_days=window_days,
        point_value_minor=point_value_minor,
        data=_data_status(orders, at),
        repeat=repeat,
        membership=kpis.membership_share(customers, orders),
        participation=kpis.participation(customers, ledger, at=at, window_days=window_days),
        points=kpis.points_kpis(ledger, value_per_point=point_value_minor),
        groups=kpis.members_vs_non_members(customers, orders),
        nps=None,
        csat=None,
        clv_to_cac=cac,
        conversion=_conversion(session, at, unavailable),
        unavailable=unavailable,
    )


def _data_status(orders: pl.DataFrame, at: date) -> DataStatus:
    # purchase days, as the refresh counts repeat buyers: two orders on one day are one
    buyers = orders.group_by("customer_id").agg(n=pl.col("timestamp").n_unique())
    repeaters = int((buyers["n"] >= 2).sum())
    if orders.height == 0:
        return DataStatus("no_orders", 0, 0, f"No orders up to {at}: every ratio is 0.")
    if repeaters < THIN_DATA_REPEAT_BUYERS:
        message = (
            f"Thin data: {repeaters} of {buyers.height} customers bought more than once (fewer "
            f"than {THIN_DATA_REPEAT_BUYERS}); read the ratios with their counts."
        )
        return DataStatus("thin", buyers.height, repeaters, message)
    return DataStatus("ok", buyers.height, repeaters, None)


def _clv_to_cac(
    session: Session, orders: pl.DataFrame, at: date, unavailable: list[Unavailable]
) -> CacOverview | None:
    spend = loader.load_marketing_spend(session, until=at)
    if spend.height == 0:
        detail = (
            "No marketing spend is stored for the months up to `at`: load the monthly CSV "
            "with `trofast analytics inputs --marketing-spend FILE` or "
            "`PUT /v1/analytics/marketing-spend`."
        )
        unavailable.append(Unavailable("clv_to_cac", "no_marketing_spend", detail))
        return None
    fit = repository.latest_fit(session)
    if fit is None or fit.clv is None:
        why = (
            "no analytics refresh has run"
            if fit is None
            else f"the last refresh ({fit.id}, status {fit.status}) predicted no CLV"
        )
        detail = f"CLV:CAC needs predicted CLV and {why}: run `trofast analytics refresh`."
        unavailable.append(Unavailable("clv_to_cac", "clv_not_predicted", detail))
        return None
    value = kpis.acquired_customer_value(
        orders, spend, loader.load_predicted_clv(session), margin=float(fit.clv["margin"])
    )
    return CacOverview(
        months=spend.height,
        cac=kpis.clv_to_cac(orders, spend, average_clv=value.average_clv),
        value=value,
        fit_id=fit.id,
        clv_months=int(fit.clv["months"]),
    )


def _conversion(
    session: Session, at: date, unavailable: list[Unavailable]
) -> ConversionOverview | None:
    sessions = loader.load_sessions(session, until=at)
    if sessions.height == 0:
        detail = (
            "No sessions are stored for the days up to `at`: load the daily CSV with "
            "`trofast analytics inputs --sessions FILE` or `PUT /v1/analytics/sessions`."
        )
        unavailable.append(Unavailable("conversion", "no_sessions", detail))
        return None
    counts = loader.load_order_counts(session, sessions["day"].to_list())
    return ConversionOverview(sessions.height, kpis.conversion_rate(sessions, counts))


@dataclass(frozen=True)
class InputsStored:
    months: int
    days: int


def store_inputs(
    session: Session,
    *,
    marketing_spend: str | None = None,
    sessions: str | None = None,
    currency: str,
    now: datetime,
) -> InputsStored:
    """Read the merchant's CSVs (`trofast.analytics.inputs`) and store their rows: a month or
    day already stored is replaced, the others are kept. Both files are read before either is
    written, so one bad file stores nothing."""
    spend = None if marketing_spend is None else inputs.read_marketing_spend(marketing_spend)
    visits = None if sessions is None else inputs.read_sessions(sessions)
    months = days = 0
    if spend is not None:
        rows = [(m, to_minor(v, currency)) for m, v in spend.iter_rows()]
        repository.upsert_marketing_spend(session, rows, loaded_at=now)
        months = len(rows)
    if visits is not None:
        repository.upsert_sessions(session, list(visits.iter_rows()), loaded_at=now)
        days = visits.height
    session.flush()
    return InputsStored(months, days)


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
