"""Response bodies of the analytics API. Money is in minor units of the shop's currency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel


class SegmentOut(BaseModel):
    segment: str
    customers: int
    revenue_minor: int


class GridCellOut(BaseModel):
    r_score: int
    fm_score: int
    segment: str
    customers: int


class MovementOut(BaseModel):
    from_segment: str
    to_segment: str
    customers: int


class RfmOut(BaseModel):
    at: date
    since: date | None
    customers: int
    segments: list[SegmentOut]
    grid: list[GridCellOut]
    movement: list[MovementOut] | None


class RepeatOut(BaseModel):
    customers: int
    orders: int
    revenue_minor: int
    repeat_purchase_rate: float
    average_order_value_minor: float
    purchase_frequency: float
    mean_days_between_orders: float
    median_days_between_orders: float
    churned_customers: int
    churn_rate: float


class CohortRowOut(BaseModel):
    cohort: date
    period: int
    cohort_size: int
    active_customers: int
    retention: float
    orders: int
    revenue_minor: int


class CohortsOut(BaseModel):
    at: date
    churn_days: int
    repeat: RepeatOut
    cohorts: list[CohortRowOut]


class MembershipOut(BaseModel):
    customers: int
    members: int
    customer_share: float
    revenue_minor: int
    member_revenue_minor: int
    revenue_share: float


class ParticipationOut(BaseModel):
    members: int
    active_earners: int
    active_redeemers: int
    earner_share: float
    redeemer_share: float


class PointsOut(BaseModel):
    earned: int
    redeemed: int
    expired: int
    outstanding: int
    redemption_rate: float
    breakage_rate: float
    liability_minor: int
    liability_net_of_breakage_minor: int


class GroupOut(BaseModel):
    group: str
    customers: int
    orders: int
    revenue_minor: int
    average_order_value_minor: float
    purchase_frequency: float
    retention: float


class DataStatusOut(BaseModel):
    """How much the figures rest on: ``no_orders`` (every ratio is 0), ``thin`` (fewer
    repeat buyers than the refresh needs to predict) or ``ok``."""

    status: Literal["no_orders", "thin", "ok"]
    customers: int
    repeat_customers: int
    message: str | None


class SurveyOut(BaseModel):
    responses: int
    score: float


class ClvCacOut(BaseModel):
    """CAC = the spend of the stored months up to ``at`` / the customers whose first order fell
    in those months; their CLV = margin x their net revenue so far + their predicted CLV over
    ``clv_months`` from refresh ``refresh_id``."""

    months: int
    marketing_spend_minor: int
    new_customers: int
    cac_minor: float
    realised_value_minor: int
    predicted_clv_minor: int
    average_clv_minor: float
    ratio: float
    refresh_id: int
    clv_months: int


class ConversionOut(BaseModel):
    """Orders (guest orders included) per session over the stored days up to ``at``."""

    days: int
    sessions: int
    orders: int
    rate: float


class UnavailableOut(BaseModel):
    """A KPI left null, and why: ``surveys_not_recorded``, ``no_marketing_spend``,
    ``clv_not_predicted`` or ``no_sessions``."""

    kpi: str
    code: str
    detail: str


class KpisOut(BaseModel):
    at: date
    window_days: int
    point_value_minor: float
    data: DataStatusOut
    repeat: RepeatOut
    membership: MembershipOut
    participation: ParticipationOut
    points: PointsOut
    members_vs_non_members: list[GroupOut]
    nps: SurveyOut | None
    csat: SurveyOut | None
    clv_to_cac: ClvCacOut | None
    conversion: ConversionOut | None
    unavailable: list[UnavailableOut]


class InputsStoredOut(BaseModel):
    """Rows stored from the file: months of marketing spend or days of sessions."""

    months: int
    days: int


class RefreshOut(BaseModel):
    id: int
    fitted_at: datetime
    calibration_end: date
    unit: str
    status: str
    message: str | None
    thin: bool
    customers: int
    repeat_customers: int
    transaction_model: dict[str, Any] | None
    spend_model: dict[str, Any] | None


class PredictionOut(BaseModel):
    customer_id: int
    refresh: RefreshOut
    recency_days: int
    orders: int
    monetary_minor: int
    r_score: int
    f_score: int
    m_score: int
    segment: str
    p_alive: float | None
    churn_risk: str | None
    expected_orders_30d: float | None
    expected_orders_90d: float | None
    expected_orders_365d: float | None
    next_order_date: date | None
    expected_spend_minor: int | None
    clv_minor: int | None
    clv_lower_minor: int | None
    clv_upper_minor: int | None
