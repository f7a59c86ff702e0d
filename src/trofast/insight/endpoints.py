"""`/v1/analytics`: RFM, cohorts, programme KPIs and per-customer predictions, and the merchant's
marketing spend and sessions behind CLV:CAC and conversion (admin key)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from trofast.analytics.cohorts import RepeatMetrics
from trofast.analytics.inputs import InvalidCsv
from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep, SettingsDep
from trofast.ingest.http import read_body
from trofast.insight import service
from trofast.insight.schemas import (
    ClvCacOut,
    CohortsOut,
    ConversionOut,
    DataStatusOut,
    GroupOut,
    InputsStoredOut,
    KpisOut,
    MembershipOut,
    ParticipationOut,
    PointsOut,
    PredictionOut,
    RefreshOut,
    RepeatOut,
    RfmOut,
    SurveyOut,
    UnavailableOut,
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
    summary="Programme KPIs: membership, points, members vs non-members, CLV:CAC, conversion",
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
        data=DataStatusOut(**asdict(view.data)),
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
        nps=None if view.nps is None else SurveyOut(**asdict(view.nps)),
        csat=None if view.csat is None else SurveyOut(**asdict(view.csat)),
        clv_to_cac=_clv_cac(view.clv_to_cac),
        conversion=None
        if view.conversion is None
        else ConversionOut(days=view.conversion.days, **asdict(view.conversion.conversion)),
        unavailable=[UnavailableOut(**asdict(u)) for u in view.unavailable],
    )


def _clv_cac(view: service.CacOverview | None) -> ClvCacOut | None:
    if view is None:
        return None
    return ClvCacOut(
        months=view.months,
        marketing_spend_minor=round(view.cac.marketing_spend),
        new_customers=view.cac.new_customers,
        cac_minor=view.cac.cac,
        realised_value_minor=round(view.value.realised),
        predicted_clv_minor=round(view.value.predicted),
        average_clv_minor=view.value.average_clv,
        ratio=view.cac.ratio,
        refresh_id=view.fit_id,
        clv_months=view.clv_months,
    )


_CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "client_disconnected"},
    413: {"description": "payload_too_large"},
    422: {"description": "invalid_csv: `detail` names the row, column and value"},
}


def _csv_body(example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
        }
    }


async def _read_csv(request: Request, limit: int) -> str:
    body = await read_body(request, limit)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCsv(
            f"the file is not UTF-8 text (byte {exc.start})",
            detail={"row": None, "column": None, "value": None},
        ) from None


@router.put(
    "/marketing-spend",
    response_model=InputsStoredOut,
    responses=_CSV_RESPONSES,
    openapi_extra=_csv_body("month,spend\n2026-01,12500.00\n2026-02,9800.50\n"),
    summary="Store marketing spend per month (CSV: month,spend) for CAC and CLV:CAC",
)
async def put_marketing_spend(
    request: Request, session: SessionDep, settings: SettingsDep, _key: AdminKey
) -> InputsStoredOut:
    """A month in the file replaces the stored one; months not in it are kept. Amounts are in
    the shop's currency (major units, e.g. `1234.50`)."""
    text = await _read_csv(request, settings.max_body_bytes)
    stored = await run_in_threadpool(
        service.store_inputs, session, marketing_spend=text, currency=settings.currency,
        now=utc_now(),
    )  # fmt: skip
    return InputsStoredOut(**asdict(stored))


@router.put(
    "/sessions",
    response_model=InputsStoredOut,
    responses=_CSV_RESPONSES,
    openapi_extra=_csv_body("day,sessions\n2026-01-01,412\n2026-01-02,388\n"),
    summary="Store storefront sessions per day (CSV: day,sessions) for the conversion rate",
)
async def put_sessions(
    request: Request, session: SessionDep, settings: SettingsDep, _key: AdminKey
) -> InputsStoredOut:
    """A day in the file replaces the stored one; days not in it are kept."""
    text = await _read_csv(request, settings.max_body_bytes)
    stored = await run_in_threadpool(
        service.store_inputs, session, sessions=text, currency=settings.currency, now=utc_now()
    )
    return InputsStoredOut(**asdict(stored))


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
