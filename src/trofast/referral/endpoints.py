"""Referral routes: a member's code, link and referrals (admin key or the member's token),
and an admin's block and approve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep, SettingsDep
from trofast.member.access import MEMBER_RESPONSES, MemberAccess
from trofast.referral import service
from trofast.referral.schemas import DecisionIn, MemberReferralsOut, ReferralOut

router = APIRouter(prefix="/v1", tags=["referrals"])
ReferralId = Annotated[int, Path(ge=1, le=2**62)]


@router.get(
    "/members/{customer_id}/referrals",
    response_model=MemberReferralsOut,
    responses={**MEMBER_RESPONSES, 404: {"description": "member_not_found"}},
    summary="The member's referral code and link, and the friends referred, newest first",
)
def member_referrals(
    session: SessionDep,
    settings: SettingsDep,
    caller: MemberAccess,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MemberReferralsOut:
    code = service.code_for(session, caller.member_id)
    admin = caller.api_key_id is not None
    return MemberReferralsOut(
        member_id=caller.member_id,
        code=MemberReferralsOut.display(code),
        link=service.link(settings.public_url, code),
        referrals=[
            ReferralOut.build(r, admin=admin)
            for r in service.referrals_of(session, caller.member_id, limit)
        ],
    )


@router.post(
    "/referrals/{referral_id}/block",
    response_model=ReferralOut,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "referral_not_found"},
        409: {"description": "referral_completed: the referrer was rewarded already"},
    },
    summary="Block a referral (reason `blocked_by_admin`); its referrer will not be rewarded",
)
def block_referral(
    referral_id: ReferralId, body: DecisionIn, session: SessionDep, key: AdminKey
) -> ReferralOut:
    referral = service.block(session, referral_id, body.reason, api_key_id=key.id)
    return ReferralOut.build(referral, admin=True)


@router.post(
    "/referrals/{referral_id}/approve",
    response_model=ReferralOut,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "referral_not_found"},
        409: {
            "description": "referral_completed, or first_order_returned (the first order "
            "was cancelled or returned: nothing to approve)"
        },
    },
    summary="Approve a referral: the abuse rules and weekly cap no longer apply to it",
)
def approve_referral(
    referral_id: ReferralId,
    body: DecisionIn,
    session: SessionDep,
    settings: SettingsDep,
    key: AdminKey,
) -> ReferralOut:
    referral = service.approve(
        session, referral_id, body.reason, api_key_id=key.id, currency=settings.currency
    )
    return ReferralOut.build(referral, admin=True)
