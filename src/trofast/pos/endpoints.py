from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from trofast.auth.dependencies import AUTH_RESPONSES, PosKey
from trofast.deps import SessionDep, SettingsDep
from trofast.ingest.endpoints import INGEST_RESPONSES, receive_with_key
from trofast.ingest.openapi import body_schema, request_body
from trofast.ingest.schemas import EventsResponse
from trofast.kit.nul import NO_NUL
from trofast.kit.time import utc_now
from trofast.member import lookup
from trofast.member.endpoints import ENROL_RESPONSES, enrolment_response
from trofast.member.errors import MemberNotFound, SelectorRequired
from trofast.member.guard import Brake
from trofast.member.schemas import EnrolIn, EnrolOut, TillMember
from trofast.pos.normalise import normalise_receipts
from trofast.pos.schemas import ReceiptBatch

router = APIRouter(prefix="/v1/pos", tags=["store tills"])

RECEIPTS_SCHEMA, RECEIPT_DEFS = body_schema(ReceiptBatch)


@router.post(
    "/receipts",
    response_model=EventsResponse,
    responses=INGEST_RESPONSES,
    openapi_extra=request_body(RECEIPTS_SCHEMA),
    summary="A batch of till receipts; a resent batch is applied once",
)
async def post_receipts(
    request: Request, session: SessionDep, settings: SettingsDep, key: PosKey
) -> JSONResponse:
    return await receive_with_key(
        request,
        session,
        settings,
        key,
        channel="pos",
        topic="receipts",
        normalise=normalise_receipts,
    )


@router.post(
    "/members",
    response_model=EnrolOut,
    status_code=201,
    responses={**AUTH_RESPONSES, **ENROL_RESPONSES},
    summary="Enrol the customer at the till (same rules as POST /v1/members)",
)
def enrol_at_till(body: EnrolIn, session: SessionDep, _key: PosKey) -> Response:
    return enrolment_response(session, body)


# A phone number, an e-mail address, a card number or a QR payload: bounded, never a list.
Selector = Annotated[str | None, Query(min_length=1, max_length=320, pattern=NO_NUL)]


@router.get(
    "/members/lookup",
    response_model=TillMember,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "member_not_found or qr_expired"},
        422: {"description": "selector_required: give exactly one of phone, email, card, qr"},
        429: {"description": "too_many_lookup_misses; see the Retry-After header"},
    },
    summary="Find a member at the till by phone, e-mail, card or QR code",
)
def lookup_member(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: PosKey,
    phone: Selector = None,
    email: Selector = None,
    card: Selector = None,
    qr: Selector = None,
) -> TillMember:
    given = {
        name: value
        for name, value in (("phone", phone), ("email", email), ("card", card), ("qr", qr))
        if value is not None
    }
    if len(given) != 1:
        raise SelectorRequired("give exactly one of phone, email, card or qr")
    [(selector, value)] = given.items()
    brake = Brake.for_lookups(request, key.id)
    brake.check()
    assert settings.secret_key is not None  # Settings fills or refuses it
    secret = settings.secret_key.get_secret_value().encode()
    try:
        return lookup.find(session, selector, value, secret=secret, now=utc_now())
    except MemberNotFound:
        brake.failed()
        raise
