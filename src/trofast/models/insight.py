"""What `trofast analytics refresh` writes: one row per customer, one row per model fit.

`customer_metrics` is replaced as a whole by every refresh (in one transaction), so readers
see either the previous refresh or the new one, never a mix. `analytics_fits` is appended:
the history of fits shows how the parameters moved as the shop grew.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trofast.kit.base import Base, BigId, JSONType, UTCDateTime


class AnalyticsFit(Base):
    """One refresh: its status, the fitted parameters (JSON, never pickles) and CLV totals.

    `status` is `ok`, `insufficient_data` (too few repeat buyers: RFM only), `fit_failed`
    (the likelihood could not be maximised) or `no_orders`; `message` says why in words.
    The model columns hold `FittedModel.to_dict()`: parameters, 95 % intervals from the
    observed information, log-likelihood, customers and the covariance of the log-parameters.
    """

    __tablename__ = "analytics_fits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    calibration_end: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    customers: Mapped[int]
    repeat_customers: Mapped[int]
    orders: Mapped[int]
    # Below `min_repeat_customers` the models are not fitted; `thin` flags fits that passed
    # it but rest on fewer repeat buyers than the stated threshold for stable predictions.
    min_repeat_customers: Mapped[int]
    thin: Mapped[bool] = mapped_column(Boolean, default=False)
    transaction_model: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    spend_model: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    clv: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    problems: Mapped[list[str]] = mapped_column(JSONType, default=list)
    seconds: Mapped[float] = mapped_column(Float)


class CustomerMetric(Base):
    """Per-customer RFM and predictions at the calibration end of fit `fit_id`.

    The prediction columns are NULL when the fit did not succeed (thin data); the CLV columns
    also when the spend model was refused. Money is in minor units of the shop's currency,
    rounded: they are expectations, not amounts anyone is owed.

    No foreign keys, on purpose: this is a cache rebuilt by every refresh, and customers are
    deleted when identities merge (`customer.repository`, `imports`); a key here would make
    those deletes fail until the next refresh, and cost a trigger per row on every rebuild.
    A customer deleted since the refresh simply has a row nobody asks for.
    """

    __tablename__ = "customer_metrics"

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    fit_id: Mapped[int]
    recency_days: Mapped[int]
    orders: Mapped[int]
    monetary_minor: Mapped[int]
    r_score: Mapped[int] = mapped_column(SmallInteger)
    f_score: Mapped[int] = mapped_column(SmallInteger)
    m_score: Mapped[int] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(String(64), index=True)
    p_alive: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[str | None] = mapped_column(String(8))
    expected_orders_30d: Mapped[float | None] = mapped_column(Float)
    expected_orders_90d: Mapped[float | None] = mapped_column(Float)
    expected_orders_365d: Mapped[float | None] = mapped_column(Float)
    next_order_date: Mapped[date | None] = mapped_column(Date)
    expected_spend_minor: Mapped[int | None]
    clv_minor: Mapped[int | None]
    clv_lower_minor: Mapped[int | None]
    clv_upper_minor: Mapped[int | None]


class MarketingSpend(Base):
    """The merchant's marketing spend in one calendar month, for CAC and CLV:CAC.

    Loaded from the merchant's CSV (`trofast analytics inputs`, `PUT
    /v1/analytics/marketing-spend`): a month in a new file replaces the stored one, months
    not in it are kept. `month` is the first day of the month.
    """

    __tablename__ = "marketing_spend"
    __table_args__ = (CheckConstraint("spend_minor >= 0", name="spend_not_negative"),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spend_minor: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailySessions(Base):
    """Storefront sessions (visits) on one UTC day, for the conversion rate; loaded like
    `MarketingSpend`."""

    __tablename__ = "daily_sessions"
    __table_args__ = (CheckConstraint("sessions >= 0", name="sessions_not_negative"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sessions: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
