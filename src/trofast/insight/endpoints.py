"""`/v1/analytics`: RFM, cohorts, programme KPIs and per-customer predictions (admin key)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from trofast.analytics.cohorts import RepeatMetrics
from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep, SettingsDep
from trofast.insight import service
from trofast.insight.schemas import (
    CohortsOut,
    GroupOut,
    KpisOut,
    MembershipOut,
    ParticipationOut,
    PointsOut,
    PredictionOut,
    RefreshOut,
    RepeatOut,
    RfmOut,
)
from trofast.kit.time import utc_now
from trofast.program import service as program_service

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

AtDate = Annotated[
    date | None, Query(description="Measure at the end of this UTC day (default: today).")
]
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "validation_error, or invalid_input (`since` not before `at`)"}
}


def _repeat(r: RepeatMetrics) -> RepeatOut:
    return RepeatOut(
        **{k: v for k, v in asdict(r).items() if k not in ("revenue", "average_order_value")},
        revenue_minor=round(r.revenue),
        average_order_value_minor=r.average_order_value,
    )


@router.get(
    "/rfm",
    response_model=RfmOut,
    responses={**AUTH_RESPONSES, **_INVALID},
    summary="RFM segment counts, the 5 x 5 grid, and movement since an earlier date",
)
def get_rfm(
    session: SessionDep,
    _key: AdminKey,
    at: AtDate = None,
    since: Annotated[
        date | None,
        Query(description="Also count how customers moved between segments from this date."),
    ] = None,
) -> RfmOut:
    view = service.rfm_overview(session, at=at or utc_now().date(), since=since)
    return RfmOut(
        at=view.at,
        since=view.since,
        customers=view.customers,
        segments=[
            {"segment": s["segment"], "customers": s["customers"], "revenue_minor": s["revenue"]}
            for s in view.segments
        ],
        grid=view.grid,
        movement=view.movement,
    )


@router.get(
    "/cohorts",
    response_model=CohortsOut,
    responses={**AUTH_RESPONSES, **_INVALID},
    summary="Monthly acquisition cohorts and repeat-purchase measures",
)
def get_cohorts(
    session: SessionDep,
    _key: AdminKey,
    at: AtDate = None,
    churn_days: Annotated[int, Query(ge=1, le=3650)] = 180,
) -> CohortsOut:
    view = service.cohort_overview(session, at=at or utc_now().date(), churn_days=churn_days)
    cohorts: list[Any] = [
        {**{k: v for k, v in row.items() if k != "revenue"}, "revenue_minor": row["revenue"]}
        for row in view.cohorts
    ]
    return CohortsOut(
        at=view.at, churn_days=churn_days, repeat=_repeat(view.repeat), cohorts=cohorts
    )


@router.get(
    "/kpis",
    response_model=KpisOut,
    responses={**AUTH_RESPONSES, **_INVALID},
    summary="Programme KPIs: membership, participation, points liability and breakage",
)
def get_kpis(
    session: SessionDep,
    settings: SettingsDep,
    _key: AdminKey,
    at: AtDate = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 365,
) -> KpisOut:
    # The programme in force states what a point is worth; the setting covers the time
    # before a programme is applied.
    program = program_service.active(session)
    value = float(program.programme.point_value_minor) if program else settings.point_value_minor
    view = service.kpi_overview(
        session,
        at=at or utc_now().date(),
        point_value_minor=value,
        window_days=window_days,
    )
    m, p = view.membership, view.points
    return KpisOut(
        at=view.at,
        window_days=view.window_days,
        point_value_minor=view.point_value_minor,
        repeat=_repeat(view.repeat),
        membership=MembershipOut(
            customers=m.customers,
            members=m.members,
            customer_share=m.customer_share,
            revenue_minor=round(m.revenue),
            member_revenue_minor=round(m.member_revenue),
            revenue_share=m.revenue_share,
        ),
        participation=ParticipationOut(**asdict(view.participation)),
        points=PointsOut(
            earned=p.earned,
            redeemed=p.redeemed,
            expired=p.expired,
            outstanding=p.outstanding,
            redemption_rate=p.redemption_rate,
            breakage_rate=p.breakage_rate,
            liability_minor=round(p.liability),
            liability_net_of_breakage_minor=round(p.liability_net_of_breakage),
        ),
        members_vs_non_members=[
            GroupOut(
                group=g.group,
                customers=g.customers,
                orders=g.orders,
                revenue_minor=round(g.revenue),
                average_order_value_minor=g.average_order_value,
                purchase_frequency=g.purchase_frequency,
                retention=g.retention,
            )
            for g in view.groups
        ],
    )


@router.get(
    "/customers/{customer_id}/predictions",
    response_model=PredictionOut,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "analytics_not_refreshed or customer_metrics_not_found"},
    },
    summary="A customer's RFM segment and predictions from the last analytics refresh",
)
def get_predictions(
    customer_id: Annotated[int, Path(ge=1, le=2**53)], session: SessionDep, _key: AdminKey
) -> PredictionOut:
    row, fit = service.customer_predictions(session, customer_id)
    refresh = RefreshOut.model_validate(fit, from_attributes=True)
    values = {name: getattr(row, name) for name in PredictionOut.model_fields if name != "refresh"}
    return PredictionOut(refresh=refresh, **values)
