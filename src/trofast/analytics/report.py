"""The whole analysis of one order log, as one value the CLI prints, renders or dumps as JSON.

`analyze_orders` runs every part that the data can support and records, rather than hides, the
parts it cannot (a model that does not converge, too few repeat buyers): those come back as
plain messages in ``problems`` and the rest of the report still stands.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from trofast.analytics import kpis
from trofast.analytics.bgnbd import BetaGeoModel
from trofast.analytics.clv import ClvSettings, predict_customers, total_clv_interval
from trofast.analytics.cohorts import RepeatMetrics, cohort_table, repeat_metrics
from trofast.analytics.errors import AnalyticsError
from trofast.analytics.gammagamma import GammaGammaModel
from trofast.analytics.paretonbd import ParetoNBDModel
from trofast.analytics.rfm import rfm_table, segment_counts
from trofast.analytics.summary import Unit, summarize, unit_days

ModelName = Literal["bgnbd", "paretonbd"]
# CLV intervals redo the whole CLV per parameter draw: a sample keeps that to a second or two.
_INTERVAL_SAMPLE = 20_000


@dataclass
class AnalysisReport:
    calibration_end: date
    unit: str
    first_order: date | None
    last_order: date | None
    repeat: RepeatMetrics
    rfm: pl.DataFrame
    segments: pl.DataFrame
    cohorts: pl.DataFrame
    summary: pl.DataFrame
    transaction_model: BetaGeoModel | ParetoNBDModel | None = None
    spend_model: GammaGammaModel | None = None
    predictions: pl.DataFrame | None = None
    clv_total: float | None = None
    clv_total_interval: tuple[float, float] | None = None
    holdout: dict[str, float] | None = None
    clv_to_cac: dict[str, float] | None = None
    conversion: dict[str, float] | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Everything a script needs, JSON-ready (no frames of per-customer rows)."""
        models = {
            m.model_name: m.to_dict()
            for m in (self.transaction_model, self.spend_model)
            if m is not None
        }
        out: dict[str, Any] = {
            "calibration_end": self.calibration_end.isoformat(),
            "unit": self.unit,
            "first_order": None if self.first_order is None else self.first_order.isoformat(),
            "last_order": None if self.last_order is None else self.last_order.isoformat(),
            "kpis": asdict(self.repeat),
            "segments": self.segments.to_dicts(),
            "models": models,
            "clv": None,
            "holdout": self.holdout,
            "clv_to_cac": self.clv_to_cac,
            "conversion": self.conversion,
            "problems": self.problems,
        }
        if self.predictions is not None and "clv" in self.predictions.columns:
            out["clv"] = {
                "total": self.clv_total,
                "total_interval_90": self.clv_total_interval,
                "mean": float(self.predictions["clv"].mean() or 0.0),  # type: ignore[arg-type]
                "median": float(self.predictions["clv"].median() or 0.0),  # type: ignore[arg-type]
            }
        if self.predictions is not None:
            out["churn_risk"] = (
                self.predictions.group_by("churn_risk").agg(customers=pl.len()).sort("churn_risk")
            ).to_dicts()
        safe: dict[str, Any] = _json_safe(out)
        return safe


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def analyze_orders(
    orders: pl.DataFrame,
    *,
    calibration_end: date | None = None,
    unit: Unit = "week",
    model: ModelName = "bgnbd",
    clv: ClvSettings | None = None,
    churn_days: int = 180,
    marketing_spend: pl.DataFrame | None = None,
    sessions: pl.DataFrame | None = None,
) -> AnalysisReport:
    """Run RFM, cohorts, repeat metrics, the purchase and spend models, predictions and CLV.

    ``orders`` has ``customer_id, timestamp (date), amount`` with one row per order. When
    ``calibration_end`` is before the last order, the later orders are the holdout: the report
    then compares the forecast with what happened. With ``marketing_spend`` (``month,
    spend``) the report adds CLV:CAC, with ``sessions`` (``day, sessions``) the conversion
    rate (`trofast.analytics.kpis`; files read by `trofast.analytics.inputs`).
    """
    unit_days(unit)  # refuses an unknown unit before any work
    last = orders["timestamp"].max() if orders.height else None
    first = orders["timestamp"].min() if orders.height else None
    end = calibration_end or (last if isinstance(last, date) else date.today())  # noqa: DTZ011
    calib_orders = orders.filter(pl.col("timestamp") <= end)
    rfm = rfm_table(calib_orders, end)
    report = AnalysisReport(
        calibration_end=end,
        unit=unit,
        first_order=first if isinstance(first, date) else None,
        last_order=last if isinstance(last, date) else None,
        repeat=repeat_metrics(calib_orders, at=end, churn_days=churn_days),
        rfm=rfm,
        segments=segment_counts(rfm),
        cohorts=cohort_table(calib_orders),
        summary=pl.DataFrame(),
    )
    has_holdout = isinstance(last, date) and last > end
    summary = summarize(
        orders,
        calibration_end=end,
        unit=unit,
        observation_end=last if has_holdout and isinstance(last, date) else None,
    )
    report.summary = summary
    if sessions is not None:
        report.conversion = asdict(kpis.conversion_rate(sessions, orders))
    _fit_and_predict(report, calib_orders, model, clv, marketing_spend)
    return report


def _fit_and_predict(
    report: AnalysisReport,
    calib_orders: pl.DataFrame,
    model: ModelName,
    clv: ClvSettings | None,
    marketing_spend: pl.DataFrame | None,
) -> None:
    summary, unit, end = report.summary, cast(Unit, report.unit), report.calibration_end
    days = unit_days(unit)
    last = report.last_order
    has_holdout = last is not None and last > end
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    try:
        cls = BetaGeoModel if model == "bgnbd" else ParetoNBDModel
        report.transaction_model = cls(unit=unit).fit(x, t_x, big_t)
    except AnalyticsError as exc:
        report.problems.append(f"purchase model: {exc.message}")
        if marketing_spend is not None:
            report.problems.append("CLV:CAC: left out, there is no predicted CLV")
        return
    try:
        report.spend_model = GammaGammaModel(unit=unit).fit(x, summary["monetary_value"])
    except AnalyticsError as exc:
        report.problems.append(f"spend model: {exc.message} (CLV left out)")
    settings = clv or ClvSettings(periods_per_month=365.25 / 12 / days)
    tx = report.transaction_model
    report.predictions = predict_customers(
        summary, tx, report.spend_model, calibration_end=end, unit=unit, settings=settings
    )
    if report.spend_model is not None:
        report.clv_total = float(report.predictions["clv"].sum())
        _clv_interval(report, tx, report.spend_model, summary, settings)
    if marketing_spend is not None:
        _clv_to_cac(report, calib_orders, marketing_spend, settings)
    if has_holdout and last is not None:
        horizon = (last - end).days / days
        forecast = float(tx.conditional_expected_purchases(horizon, x, t_x, big_t).sum())
        actual = float(summary["frequency_holdout"].sum())
        report.holdout = {
            "periods": horizon,
            "forecast_repeat_purchases": forecast,
            "actual_repeat_purchases": actual,
            "error": (forecast - actual) / actual if actual else 0.0,
        }


def _clv_to_cac(
    report: AnalysisReport,
    calib_orders: pl.DataFrame,
    marketing_spend: pl.DataFrame,
    settings: ClvSettings,
) -> None:
    """CLV:CAC for the customers acquired in the spend months, their CLV being their margin
    to the calibration end plus their predicted CLV."""
    if report.predictions is None or "clv" not in report.predictions.columns:
        report.problems.append("CLV:CAC: left out, there is no predicted CLV")
        return
    value = kpis.acquired_customer_value(
        calib_orders, marketing_spend, report.predictions.select("customer_id", "clv"),
        margin=settings.margin,
    )  # fmt: skip
    cac = kpis.clv_to_cac(calib_orders, marketing_spend, average_clv=value.average_clv)
    report.clv_to_cac = {
        **asdict(cac),
        "realised_value": value.realised,
        "predicted_clv": value.predicted,
        "clv_months": settings.months,
    }


def _clv_interval(
    report: AnalysisReport,
    tx: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    summary: pl.DataFrame,
    settings: ClvSettings,
) -> None:
    try:
        ci = total_clv_interval(
            tx, spend_model, summary["frequency"], summary["recency"], summary["T"],
            summary["monetary_value"], settings, n_draws=100, max_customers=_INTERVAL_SAMPLE,
        )  # fmt: skip
    except AnalyticsError as exc:
        report.problems.append(f"CLV interval: {exc.message}")
        return
    report.clv_total_interval = (ci.lower, ci.upper)


def p_alive_by_recency(report: AnalysisReport, max_points: int = 5000) -> pl.DataFrame:
    """P(alive) against days since the last purchase, sampled for plotting."""
    if report.predictions is None:
        return pl.DataFrame()
    days = unit_days(report.unit)
    frame = report.summary.select(
        "customer_id",
        "frequency",
        days_since_last=((pl.col("T") - pl.col("recency")) * days).round(0),
    ).join(report.predictions.select("customer_id", "p_alive"), on="customer_id")
    if frame.height > max_points:
        frame = frame.sample(max_points, seed=0)
    return frame


def clv_values(report: AnalysisReport) -> np.ndarray[Any, np.dtype[np.float64]]:
    if report.predictions is None or "clv" not in report.predictions.columns:
        return np.zeros(0)
    return report.predictions["clv"].to_numpy()
