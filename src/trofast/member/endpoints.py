"""The members API: enrolment, tokens and the QR code for the shop front, receipt claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trofast.auth.dependencies import AUTH_RESPONSES, require
from trofast.auth.scopes import Scope
from trofast.deps import SessionDep, SettingsDep
from trofast.kit.time import utc_now
from trofast.member import claims, enrolment, repository, tokens
from trofast.member.access import MEMBER_RESPONSES, MemberAccess
from trofast.member.errors import MemberNotFound, ReceiptNotFound
from trofast.member.guard import Brake
from trofast.member.schemas import ClaimIn, ClaimOut, ConsentOut, EnrolIn, EnrolOut, QrOut
from trofast.models import ApiKey

router = APIRouter(prefix="/v1/members", tags=["members"])

# Admin keys pass too: `admin` allows every scope.
StorefrontKey = Annotated[ApiKey, Depends(require(Scope.storefront))]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(default=900, ge=60, le=3600, description="Lifetime, at most 1 h.")


class TokenOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    member_id: int
    expires_at: datetime


@router.post(
    "/{customer_id}/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={**AUTH_RESPONSES, 404: {"description": "member_not_found"}},
    summary="A short-lived token with which the shop front may read this member only",
)
def issue_token(
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    settings: SettingsDep,
    _key: StorefrontKey,
    body: Annotated[TokenIn | None, Body()] = None,
) -> TokenOut:
    if not repository.customer_exists(session, customer_id):
        raise MemberNotFound(f"no member {customer_id}")
    ttl = (body or TokenIn()).ttl_seconds
    expires_at = int(utc_now().timestamp()) + ttl
    assert settings.secret_key is not None  # Settings fills or refuses it
    token = tokens.issue(settings.secret_key.get_secret_value().encode(), customer_id, expires_at)
    return TokenOut(
        token=token, member_id=customer_id, expires_at=datetime.fromtimestamp(expires_at, UTC)
    )


# The QR code on the member page; re-issued on every visit, so a saved copy lasts a year.
QR_TTL = timedelta(days=365)

ENROL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": EnrolOut, "description": "Already a member: the same member, nothing given."},
    422: {
        "description": "validation_error, missing_identity, invalid_email, invalid_phone, "
        "duplicate_channel or nul_character"
    },
}


def enrolment_response(session: Session, body: EnrolIn) -> Response:
    """201 when this call enrolled the customer, 200 for a member already.

    Serialised here, inside the unit of work's hop: the welcome bonus holds the member's
    ledger lock until the commit (see `coupon.endpoints._json`).
    """
    result = enrolment.enrol(session, body, utc_now())
    out = EnrolOut(
        member_id=result.customer.id,
        enrolled=result.enrolled,
        enrolled_at=result.customer.enrolled_at,
        welcome_points=result.welcome_points,
        consents=[ConsentOut.model_validate(c, from_attributes=True) for c in result.consents],
    )
    code = status.HTTP_201_CREATED if result.enrolled else status.HTTP_200_OK
    return Response(out.model_dump_json(), code, media_type="application/json")


@router.post(
    "",
    response_model=EnrolOut,
    status_code=status.HTTP_201_CREATED,
    responses={**AUTH_RESPONSES, **ENROL_RESPONSES},
    summary="Enrol a customer (found or created by identity); the same person again is 200",
)
def enrol_member(body: EnrolIn, session: SessionDep, _key: StorefrontKey) -> Response:
    return enrolment_response(session, body)


@router.get(
    "/{customer_id}/qr",
    response_model=QrOut,
    responses={**MEMBER_RESPONSES, 404: {"description": "member_not_found"}},
    summary="The payload of the member page's QR code, which a till looks the member up by",
)
def member_qr(
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    settings: SettingsDep,
    _caller: MemberAccess,
) -> QrOut:
    if not repository.customer_exists(session, customer_id):
        raise MemberNotFound(f"no member {customer_id}")
    expires_at = int((utc_now() + QR_TTL).timestamp())
    assert settings.secret_key is not None  # Settings fills or refuses it
    payload = tokens.issue_qr(
        settings.secret_key.get_secret_value().encode(), customer_id, expires_at
    )
    return QrOut(
        member_id=customer_id, payload=payload, expires_at=datetime.fromtimestamp(expires_at, UTC)
    )


@router.post(
    "/{customer_id}/claims",
    response_model=ClaimOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **MEMBER_RESPONSES,
        404: {"description": "member_not_found or receipt_not_found (number or amount)"},
        409: {"description": "already_claimed, ambiguous_receipt or not_a_member"},
        429: {"description": "too_many_failed_claims; see the Retry-After header"},
    },
    summary="Claim a store receipt by its number and amount; it earns its points once",
)
def claim_receipt(
    request: Request,
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    body: ClaimIn,
    session: SessionDep,
    settings: SettingsDep,
    caller: MemberAccess,
) -> Response:
    brake = Brake.for_claims(request, customer_id)
    brake.check()
    claims.check_member(session, customer_id)
    try:
        row = claims.claim(
            session,
            customer_id,
            body,
            currency=settings.currency,
            api_key_id=caller.api_key_id,
            now=utc_now(),
        )
    except ReceiptNotFound:
        brake.failed()
        raise
    out = ClaimOut(
        member_id=customer_id, order_id=row.order_id, points=row.points, claimed_at=row.claimed_at
    )
    # Serialised inside the hop that holds the order's and the member's locks (see above).
    return Response(out.model_dump_json(), status.HTTP_201_CREATED, media_type="application/json")
