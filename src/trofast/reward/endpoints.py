"""Reward routes: the member's catalogue, redemptions and points as payment.

A member acts with their own token (or an admin key for them): redeem, list, cancel. Points
as payment is also what a shop server or a till does at checkout, so storefront and pos keys
may call it. Fulfilment of custom rewards is an admin's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep
from trofast.member.access import MEMBER_RESPONSES, CheckoutMemberAccess, MemberAccess
from trofast.reward import payments, service
from trofast.reward.eligibility import REASONS as REWARD_REASONS
from trofast.reward.schemas import (
    FulfilmentIn,
    OfferOut,
    PointsPaymentIn,
    PointsPaymentOut,
    PointsReleaseIn,
    QuoteIn,
    QuoteOut,
    RedeemIn,
    RedemptionOut,
    RedemptionsOut,
)

router = APIRouter(prefix="/v1/members", tags=["rewards"])
admin_router = APIRouter(prefix="/v1/redemptions", tags=["rewards"])

CustomerId = Annotated[int, Path(ge=1, le=2**62)]
RedemptionId = Annotated[int, Path(ge=1, le=2**62)]
_UNAVAILABLE = ", ".join(r for r in REWARD_REASONS if r != "insufficient_points")
_PAYMENT_REFUSALS = (
    "points_payment_disabled, currency_not_allowed, channel_not_allowed, below_minimum, "
    "above_maximum, above_order_share"
)


def _json(body: BaseModel, status_code: int = status.HTTP_200_OK) -> Response:
    """Serialised here, inside the hop that holds the member's lock (see the same helper in
    `trofast.coupon.endpoints` for the thread-starvation this avoids under concurrency)."""
    return Response(body.model_dump_json(), status_code, media_type="application/json")


def _responses(extra: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {**MEMBER_RESPONSES, **extra}


@router.get(
    "/{customer_id}/rewards",
    response_model=list[OfferOut],
    responses=_responses({404: {"description": "member_not_found"}}),
    summary="The rewards the member can redeem now (all=true: every reward, with the reason)",
)
def member_rewards(
    customer_id: CustomerId,
    session: SessionDep,
    _caller: MemberAccess,
    all: Annotated[
        bool, Query(description="Include rewards the member cannot redeem now.")
    ] = False,
) -> list[OfferOut]:
    found = service.offers(session, customer_id)
    return [OfferOut.build(offer) for offer in found if all or offer.reason is None]


@router.post(
    "/{customer_id}/redemptions",
    response_model=RedemptionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_responses(
        {
            200: {"description": "replay: this Idempotency-Key was used before for this reward"},
            404: {"description": "member_not_found, reward_not_found or no_programme"},
            409: {
                "description": f"insufficient_points, idempotency_conflict, or the reason the "
                f"reward is unavailable: {_UNAVAILABLE}"
            },
        }
    ),
    summary="Redeem a reward: debit its points and issue its coupon, in one transaction",
)
def redeem(
    customer_id: CustomerId,
    body: RedeemIn,
    session: SessionDep,
    caller: MemberAccess,
    idempotency_key: Annotated[
        str, Header(min_length=1, max_length=150, pattern=r"^[\x21-\x7e]+$")
    ],
) -> Response:
    done = service.redeem(
        session, customer_id, body.reward_id, idempotency_key, api_key_id=caller.api_key_id
    )
    out = RedemptionOut.build(done.redemption, done.coupon, replayed=done.replayed)
    return _json(out, status.HTTP_200_OK if done.replayed else status.HTTP_201_CREATED)


@router.get(
    "/{customer_id}/redemptions",
    response_model=RedemptionsOut,
    responses=_responses({404: {"description": "member_not_found"}}),
    summary="The member's redemptions, newest first",
)
def list_redemptions(
    customer_id: CustomerId,
    session: SessionDep,
    _caller: MemberAccess,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RedemptionsOut:
    found = service.history(session, customer_id, before_id=before, limit=limit)
    return RedemptionsOut(
        customer_id=customer_id,
        redemptions=[RedemptionOut.build(row, coupon) for row, coupon in found],
        next_before=found[-1][0].id if len(found) == limit else None,
    )


@router.post(
    "/{customer_id}/redemptions/{redemption_id}/cancel",
    response_model=RedemptionOut,
    responses=_responses(
        {
            404: {"description": "reward_redemption_not_found"},
            409: {"description": "redemption_used or redemption_fulfilled"},
        }
    ),
    summary="Cancel an unused redemption: the points come back with their original expiry",
)
def cancel(
    customer_id: CustomerId,
    redemption_id: RedemptionId,
    session: SessionDep,
    caller: MemberAccess,
) -> Response:
    reason = "member" if caller.api_key_id is None else "admin"
    row = service.cancel(session, customer_id, redemption_id, reason=reason)
    coupon = service.coupon_of(session, row)
    return _json(RedemptionOut.build(row, coupon))


@admin_router.post(
    "/{redemption_id}/fulfilment",
    response_model=RedemptionOut,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "reward_redemption_not_found"},
        409: {"description": "not_a_custom_reward or redemption_fulfilled"},
    },
    summary="Record a custom reward as fulfilled, or cancel it (the points come back)",
)
def fulfilment(
    redemption_id: RedemptionId, body: FulfilmentIn, session: SessionDep, _key: AdminKey
) -> Response:
    row = service.fulfil(session, redemption_id, body.status)
    return _json(RedemptionOut.build(row, None))


@router.post(
    "/{customer_id}/points-payments/quote",
    response_model=QuoteOut,
    responses=_responses(
        {
            404: {"description": "member_not_found or no_programme"},
            409: {"description": f"{_PAYMENT_REFUSALS} or insufficient_points"},
        }
    ),
    summary="How many points this order can use and what they take off; writes nothing",
)
def quote(
    customer_id: CustomerId, body: QuoteIn, session: SessionDep, _caller: CheckoutMemberAccess
) -> QuoteOut:
    found = payments.quote(
        session,
        customer_id,
        order_total_minor=body.order_total_minor,
        currency=body.currency,
        channel=body.channel,
        points=body.points,
    )
    return QuoteOut.build(found)


@router.post(
    "/{customer_id}/points-payments",
    response_model=PointsPaymentOut,
    status_code=status.HTTP_201_CREATED,
    responses=_responses(
        {
            200: {"description": "replay: this order paid with points before"},
            404: {"description": "member_not_found or no_programme"},
            409: {"description": f"insufficient_points, idempotency_conflict, {_PAYMENT_REFUSALS}"},
        }
    ),
    summary="Pay part of an order with points; idempotent by order",
)
def pay(
    customer_id: CustomerId,
    body: PointsPaymentIn,
    session: SessionDep,
    caller: CheckoutMemberAccess,
) -> Response:
    done = payments.pay(
        session,
        customer_id,
        payments.OrderRef(body.order.source, body.order.id),
        order_total_minor=body.order_total_minor,
        currency=body.currency,
        channel=body.channel,
        points=body.points,
        api_key_id=caller.api_key_id,
    )
    out = PointsPaymentOut.build(done.payment, replayed=done.replayed)
    return _json(out, status.HTTP_200_OK if done.replayed else status.HTTP_201_CREATED)


@router.post(
    "/{customer_id}/points-payments/release",
    response_model=PointsPaymentOut,
    responses=_responses({404: {"description": "points_payment_not_found"}}),
    summary="The order was cancelled: return the points it paid with (idempotent)",
)
def release(
    customer_id: CustomerId,
    body: PointsReleaseIn,
    session: SessionDep,
    _caller: CheckoutMemberAccess,
) -> Response:
    row = payments.release(
        session, payments.OrderRef(body.order.source, body.order.id), customer_id=customer_id
    )
    return _json(PointsPaymentOut.build(row))
