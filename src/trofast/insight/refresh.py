"""`analytics refresh`: per-customer RFM and predictions into `customer_metrics`, the fit into
`analytics_fits`.

The use case a CLI command or a periodic job calls with its own session; it only flushes,
the caller commits, so a failed refresh leaves the previous one in place.

Thin data
---------
The purchase and spend models are fitted only with at least ``min_repeat_customers``
customers who bought twice (default `THIN_DATA_REPEAT_BUYERS` = 50). Below that the refresh
still writes RFM for every customer, leaves the prediction columns NULL and stores the fit
with status ``insufficient_data`` and a message that says so in plain words. Above it, the
uncertainty is reported rather than hidden: 95 % parameter intervals from the observed
information, a 90 % interval on each customer's CLV and on the total from parameter draws
(parametric bootstrap over the asymptotic covariance), and ``thin = true`` when an interval
spans more than a factor `WIDE_INTERVAL_RATIO` or the information matrix is singular.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from trofast.analytics import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from trofast.analytics.clv import (
    ClvSettings,
    clv_interval,
    predict_customers,
    total_clv_interval,
)
from trofast.analytics.errors import AnalyticsError, FitError, InsufficientData
from trofast.analytics.report import ModelName
from trofast.analytics.rfm import rfm_table
from trofast.analytics.summary import Unit, summarize, unit_days
from trofast.insight import loader, repository
from trofast.kit.time import utc_now

THIN_DATA_REPEAT_BUYERS = 50
# Per-customer CLV intervals cost one CLV evaluation per draw over every customer; above this
# many customers only the total gets an interval, from a random sample whose per-draw change
# relative to its own point total is carried over to the whole base (`total_clv_interval`).
PER_CUSTOMER_INTERVALS_UP_TO = 20_000
TOTAL_INTERVAL_SAMPLE = 5_000
WIDE_INTERVAL_RATIO = 10.0
CLV_INTERVAL_LEVEL = 0.9


@dataclass(frozen=True)
class RefreshOptions:
    at: date | None = None  # calibration end (inclusive); default: today (UTC)
    unit: Unit = "week"
    model: ModelName = "bgnbd"
    min_repeat_customers: int = THIN_DATA_REPEAT_BUYERS
    clv_months: int = 12
    margin: float = 1.0
    monthly_discount_rate: float = 0.01
    interval_draws: int = 200
    seed: int = 0


@dataclass
class RefreshResult:
    fit_id: int
    status: str  # ok | insufficient_data | fit_failed | no_orders
    message: str | None
    calibration_end: date
    customers: int
    repeat_customers: int
    orders: int
    thin: bool
    clv: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Fits:
    status: str = "ok"
    message: str | None = None
    transaction: BetaGeoModel | ParetoNBDModel | None = None
    spend: GammaGammaModel | None = None
    problems: list[str] = field(default_factory=list)


def refresh(
    session: Session, options: RefreshOptions | None = None, *, now: datetime | None = None
) -> RefreshResult:
    """Recompute every customer's metrics at ``options.at`` and store them with the fit."""
    options = options or RefreshOptions()
    now = now or utc_now()
    at = options.at or now.date()
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    orders = loader.load_orders(session, until=at)
    lap("load")
    rfm = rfm_table(orders, at)
    summary = summarize(orders, calibration_end=at, unit=options.unit)
    repeat = int((summary["frequency"] > 0).sum())
    lap("rfm_and_summary")
    fits = _fit(summary, options) if orders.height else _Fits("no_orders", "there are no orders")
    lap("fit")
    metrics = _rfm_columns(rfm)
    clv_info: dict[str, Any] | None = None
    if fits.transaction is not None:
        preds, clv_info = _predict(summary, fits, at, options)
        metrics = metrics.join(preds, on="customer_id", how="left")
    lap("predict")
    thin = fits.status == "ok" and any(
        _is_wide(m) for m in (fits.transaction, fits.spend) if m is not None
    )
    fit = repository.insert_fit(
        session,
        {
            "fitted_at": now,
            "calibration_end": at,
            "unit": options.unit,
            "status": fits.status,
            "message": fits.message,
            "customers": summary.height,
            "repeat_customers": repeat,
            "orders": orders.height,
            "min_repeat_customers": options.min_repeat_customers,
            "thin": thin,
            "transaction_model": _model_json(fits.transaction),
            "spend_model": _model_json(fits.spend),
            "clv": clv_info,
            "problems": fits.problems,
            "seconds": time.perf_counter() - started,
        },
    )
    repository.replace_metrics(session, _with_defaults(metrics, fit.id))
    lap("write")
    return RefreshResult(
        fit_id=fit.id, status=fits.status, message=fits.message, calibration_end=at,
        customers=summary.height, repeat_customers=repeat, orders=orders.height, thin=thin,
        clv=clv_info, problems=fits.problems, timings=timings,
    )  # fmt: skip


def _fit(summary: pl.DataFrame, options: RefreshOptions) -> _Fits:
    fits = _Fits()
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    cls = BetaGeoModel if options.model == "bgnbd" else ParetoNBDModel
    minimum = options.min_repeat_customers
    try:
        fits.transaction = cls(min_repeat_customers=minimum, unit=options.unit).fit(x, t_x, big_t)
    except InsufficientData as exc:
        fits.status = "insufficient_data"
        fits.message = (
            f"Too little data to predict: {exc.message} RFM segments are computed; "
            "predictions and CLV are left empty."
        )
        return fits
    except FitError as exc:
        fits.status, fits.message = "fit_failed", f"The purchase model failed: {exc.message}"
        return fits
    try:
        fits.spend = GammaGammaModel(min_repeat_customers=minimum, unit=options.unit).fit(
            x, summary["monetary_value"]
        )
    except AnalyticsError as exc:
        fits.problems.append(f"spend model: {exc.message} (CLV left out)")
    return fits


def _predict(
    summary: pl.DataFrame, fits: _Fits, at: date, options: RefreshOptions
) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    assert fits.transaction is not None
    settings = ClvSettings(
        months=options.clv_months,
        margin=options.margin,
        monthly_discount_rate=options.monthly_discount_rate,
        periods_per_month=365.25 / 12 / unit_days(options.unit),
    )
    preds = predict_customers(
        summary, fits.transaction, fits.spend, calibration_end=at, unit=options.unit,
        settings=settings,
    )  # fmt: skip
    money = []
    if fits.spend is not None:
        # strict=False: a non-finite expectation (q <= 1, heavy-tailed spend) is stored NULL
        money = [
            pl.col("expected_spend").round(0).cast(pl.Int64, strict=False),
            pl.col("clv").round(0).cast(pl.Int64, strict=False).alias("clv_minor"),
        ]
    preds = preds.select(
        "customer_id", "p_alive", "churn_risk", "expected_orders_30d", "expected_orders_90d",
        "expected_orders_365d", "next_order_date", *money,
    ).rename({"expected_spend": "expected_spend_minor"}, strict=False)  # fmt: skip
    if fits.spend is None:
        return preds, None
    info: dict[str, Any] = {
        "months": options.clv_months,
        "margin": options.margin,
        "monthly_discount_rate": options.monthly_discount_rate,
        "total_minor": int(preds["clv_minor"].sum()),
        "interval_level": CLV_INTERVAL_LEVEL,
        "total_interval_minor": None,
        "draws": options.interval_draws,
        "per_customer_intervals": False,
    }
    try:
        bounds = _clv_bounds(summary, fits, settings, options, info)
    except FitError as exc:
        fits.problems.append(f"CLV interval: {exc.message}")
        return preds, info
    if bounds is not None:
        preds = preds.join(bounds, on="customer_id", how="left")
    return preds, info


def _clv_bounds(
    summary: pl.DataFrame,
    fits: _Fits,
    settings: ClvSettings,
    options: RefreshOptions,
    info: dict[str, Any],
) -> pl.DataFrame | None:
    """Per-customer bounds for small shops; the total's interval always (sampled if large).

    Both come from the per-draw totals: exactly over every customer up to
    `PER_CUSTOMER_INTERVALS_UP_TO`, above it by the ratio estimator of `total_clv_interval`.
    """
    assert fits.transaction is not None
    assert fits.spend is not None
    columns = (summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"])
    if summary.height > PER_CUSTOMER_INTERVALS_UP_TO:
        total = total_clv_interval(
            fits.transaction, fits.spend, *columns, settings, level=CLV_INTERVAL_LEVEL,
            n_draws=options.interval_draws, seed=options.seed,
            max_customers=TOTAL_INTERVAL_SAMPLE,
        )  # fmt: skip
        if math.isfinite(total.lower) and math.isfinite(total.upper):
            info["total_interval_minor"] = [round(total.lower), round(total.upper)]
        info["sampled_customers"] = total.redrawn_customers
        return None
    ci = clv_interval(
        fits.transaction, fits.spend, *columns, settings, level=CLV_INTERVAL_LEVEL,
        n_draws=options.interval_draws, seed=options.seed,
    )  # fmt: skip
    if math.isfinite(ci.total_lower) and math.isfinite(ci.total_upper):
        info["total_interval_minor"] = [round(ci.total_lower), round(ci.total_upper)]
    info["sampled_customers"] = summary.height
    info["per_customer_intervals"] = True
    return pl.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "clv_lower_minor": np.round(ci.lower).astype(np.int64),
            "clv_upper_minor": np.round(ci.upper).astype(np.int64),
        }
    )


def _rfm_columns(rfm: pl.DataFrame) -> pl.DataFrame:
    return rfm.select(
        pl.col("customer_id").cast(pl.Int64),
        pl.col("recency").cast(pl.Int64).alias("recency_days"),
        pl.col("frequency").cast(pl.Int64).alias("orders"),
        pl.col("monetary").round(0).cast(pl.Int64).alias("monetary_minor"),
        pl.col("r_score").cast(pl.Int16),
        pl.col("f_score").cast(pl.Int16),
        pl.col("m_score").cast(pl.Int16),
        "segment",
    )


_PREDICTION_TYPES: dict[str, Any] = {
    "p_alive": pl.Float64,
    "churn_risk": pl.String,
    "expected_orders_30d": pl.Float64,
    "expected_orders_90d": pl.Float64,
    "expected_orders_365d": pl.Float64,
    "next_order_date": pl.Date,
    "expected_spend_minor": pl.Int64,
    "clv_minor": pl.Int64,
    "clv_lower_minor": pl.Int64,
    "clv_upper_minor": pl.Int64,
}


def _with_defaults(metrics: pl.DataFrame, fit_id: int) -> pl.DataFrame:
    """Every column of the table, NULL where this refresh could not predict."""
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in _PREDICTION_TYPES.items()
        if name not in metrics.columns
    ]
    return metrics.with_columns(*missing, fit_id=pl.lit(fit_id, dtype=pl.Int64))


def _is_wide(model: BetaGeoModel | ParetoNBDModel | GammaGammaModel) -> bool:
    if model.covariance_ is None:
        return True
    intervals = model.param_intervals()
    return any(
        iv.lower <= 0 or not math.isfinite(iv.upper) or iv.upper / iv.lower > WIDE_INTERVAL_RATIO
        for iv in intervals.values()
    )


def _model_json(model: BetaGeoModel | ParetoNBDModel | GammaGammaModel | None) -> Any:
    return None if model is None else _finite(model.to_dict())


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (PostgreSQL's jsonb refuses them): they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
