"""Coupon routes: management (admin) and the checkout calls (storefront and pos keys).

Scopes: creating, listing and disabling coupons needs `admin`. `validate`, `redeem` and
`release` are what a shop server or a till does at checkout, so `storefront` and `pos` keys
may call them (and `admin`, which may do everything). A member reads their own coupons with
a member token (`GET /v1/members/{id}/coupons`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey, require_any
from trofast.auth.scopes import Scope
from trofast.coupon import service
from trofast.coupon.discounts import Applied
from trofast.coupon.errors import UnknownOrInvalidCoupon
from trofast.coupon.guard import Guard
from trofast.coupon.rules import REASONS
from trofast.coupon.schemas import (
    TEXT_PATTERN,
    BatchIn,
    BatchOut,
    CouponIn,
    CouponOut,
    DiscountOut,
    MemberCouponOut,
    RedeemIn,
    RedemptionOut,
    ReleaseIn,
    ReleaseOut,
    ValidateIn,
    ValidateOut,
)
from trofast.deps import SessionDep, SettingsDep
from trofast.kit.time import utc_now
from trofast.member.access import MEMBER_RESPONSES, MemberAccess
from trofast.models import ApiKey

router = APIRouter(prefix="/v1/coupons", tags=["coupons"])
member_router = APIRouter(prefix="/v1/members", tags=["coupons"])

CheckoutKey = Annotated[ApiKey, Depends(require_any(Scope.storefront, Scope.pos))]
CouponId = Annotated[int, Path(ge=1, le=2**62)]
_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "too_many_invalid_codes: too many unknown codes from this key or "
        "shopper; see the Retry-After header"
    }
}
_REJECTIONS = ", ".join(r for r in REASONS if r != "unknown_or_invalid")


def _json(body: BaseModel, status_code: int = status.HTTP_200_OK) -> Response:
    """The checkout calls answer with a ready response, not a model for FastAPI to serialise.

    FastAPI serialises a sync endpoint's return value on a worker thread *before* the
    request's transaction commits. The winner of a race for a code holds the coupon's row
    lock (on SQLite, the database's write lock) during that hop; when all 40 worker threads
    are taken by checkouts waiting for that very lock, the winner never gets a thread to
    serialise and commit. Serialising here keeps lock-holding work inside one hop.
    """
    return Response(body.model_dump_json(), status_code, media_type="application/json")


def _discount(applied: Applied) -> DiscountOut:
    return DiscountOut(
        kind=applied.kind,
        amount_minor=applied.amount_minor,
        free_shipping=applied.free_shipping,
        sku=applied.sku,
    )


@router.post(
    "",
    response_model=CouponOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "customer_not_found (the owner)"},
        409: {"description": "code_taken or empty_validity_window"},
    },
    summary="Create one coupon with a generated or a chosen code",
)
def create_coupon(
    body: CouponIn, session: SessionDep, settings: SettingsDep, key: AdminKey
) -> CouponOut:
    coupon = service.create(session, body, currency=settings.currency, api_key_id=key.id)
    return CouponOut.build(coupon)


@router.post(
    "/batches",
    response_model=BatchOut,
    status_code=status.HTTP_201_CREATED,
    responses={**AUTH_RESPONSES, 409: {"description": "empty_validity_window"}},
    summary="Generate up to 1,000 coupons with the same terms for a campaign",
)
def create_batch(
    body: BatchIn, session: SessionDep, settings: SettingsDep, key: AdminKey
) -> BatchOut:
    coupons = service.create_batch(session, body, currency=settings.currency, api_key_id=key.id)
    return BatchOut(
        campaign=body.campaign,
        count=len(coupons),
        coupons=[CouponOut.build(c) for c in coupons],
    )


@router.get(
    "",
    response_model=list[CouponOut],
    responses=AUTH_RESPONSES,
    summary="List coupons, by campaign or owner",
)
def list_coupons(
    session: SessionDep,
    _key: AdminKey,
    campaign: Annotated[str | None, Query(max_length=100, pattern=TEXT_PATTERN)] = None,
    owner_customer_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CouponOut]:
    found = service.search(
        session, campaign=campaign, owner_customer_id=owner_customer_id, after_id=after, limit=limit
    )
    return [CouponOut.build(c) for c in found]


@router.get(
    "/{coupon_id}",
    response_model=CouponOut,
    responses={**AUTH_RESPONSES, 404: {"description": "coupon_not_found"}},
    summary="One coupon with its use count",
)
def get_coupon(coupon_id: CouponId, session: SessionDep, _key: AdminKey) -> CouponOut:
    return CouponOut.build(service.get(session, coupon_id))


@router.post(
    "/{coupon_id}/disable",
    response_model=CouponOut,
    responses={**AUTH_RESPONSES, 404: {"description": "coupon_not_found"}},
    summary="Disable a coupon: from now on it answers like an unknown code",
)
def disable_coupon(coupon_id: CouponId, session: SessionDep, _key: AdminKey) -> CouponOut:
    return CouponOut.build(service.disable(session, coupon_id))


@router.post(
    "/validate",
    response_model=ValidateOut,
    responses={**AUTH_RESPONSES, **_THROTTLED},
    summary="What discount this code gives this cart, or a stable reason why not",
)
def validate(body: ValidateIn, request: Request, session: SessionDep, key: CheckoutKey) -> Response:
    guard = Guard.of(request, key.id, body.shopper_ip)
    guard.check()
    checked = service.check(session, body.code, body.cart.to_cart(), body.customer_id, utc_now())
    if isinstance(checked.outcome, str):
        if checked.outcome == "unknown_or_invalid":
            guard.failed()
        return _json(ValidateOut(valid=False, reason=checked.outcome, discount=None))
    return _json(ValidateOut(valid=True, reason=None, discount=_discount(checked.outcome)))


@router.post(
    "/redeem",
    response_model=RedemptionOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **AUTH_RESPONSES,
        **_THROTTLED,
        200: {"description": "replay: this order redeemed this code before"},
        404: {"description": "unknown_or_invalid, or customer_not_found"},
        409: {"description": f"{_REJECTIONS}, or redemption_released"},
    },
    summary="Bind a code to an order and take one use; idempotent by order",
)
def redeem(body: RedeemIn, request: Request, session: SessionDep, key: CheckoutKey) -> Response:
    guard = Guard.of(request, key.id, body.shopper_ip)
    guard.check()
    try:
        done = service.redeem(
            session,
            body.code,
            body.cart.to_cart(),
            customer_id=body.customer_id,
            order_source=body.order.source,
            order_ref=body.order.id,
            api_key_id=key.id,
        )
    except UnknownOrInvalidCoupon:
        guard.failed()
        raise
    return _json(
        RedemptionOut.build(done.redemption, done.coupon, replayed=done.replayed),
        status.HTTP_200_OK if done.replayed else status.HTTP_201_CREATED,
    )


@router.post(
    "/release",
    response_model=ReleaseOut,
    responses={**AUTH_RESPONSES, 404: {"description": "redemption_not_found"}},
    summary="The order was cancelled: give back the uses it took (idempotent)",
)
def release(body: ReleaseIn, session: SessionDep, _key: CheckoutKey) -> Response:
    released = service.release(session, body.order.source, body.order.id, body.code)
    return _json(ReleaseOut(released=[RedemptionOut.build(r, c) for r, c in released]))


@member_router.get(
    "/{customer_id}/coupons",
    response_model=list[MemberCouponOut],
    responses={**MEMBER_RESPONSES, 404: {"description": "customer_not_found"}},
    summary="The coupons issued to a member (admin key or the member's own token)",
)
def member_coupons(
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    _caller: MemberAccess,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MemberCouponOut]:
    found = service.member_coupons(session, customer_id, after_id=after, limit=limit)
    return [MemberCouponOut(coupon=CouponOut.build(c), usable=usable) for c, usable in found]
