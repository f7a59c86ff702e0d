"""`MemberAccess`: the caller may act for the member in the path.

Accepted: an admin API key (any member), or a member token issued for exactly this member.
A token for another member is refused with 403 `member_token_mismatch`, an expired one with
401 `member_token_expired`; keys of other scopes (storefront, pos, ingest) get 403
`insufficient_scope`, since a shop front reads a member only through that member's token.

`CheckoutMemberAccess` also lets storefront and pos keys act for the member (points as
payment at the web checkout and the till), as they already may for coupons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from trofast.auth.dependencies import authenticate_apart
from trofast.auth.errors import InsufficientScope, MissingApiKey
from trofast.auth.scopes import Scope, allows
from trofast.deps import SettingsDep
from trofast.kit.time import utc_now
from trofast.member import tokens
from trofast.member.errors import MemberTokenMismatch

_bearer = HTTPBearer(
    auto_error=False, description="`Authorization: Bearer tf_...` (API key) or `tfm1...` (token)"
)
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: tf_...`")

MEMBER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "missing_api_key, invalid_api_key, invalid_member_token or "
        "member_token_expired"
    },
    403: {"description": "insufficient_scope or member_token_mismatch"},
}


@dataclass(frozen=True)
class MemberCaller:
    member_id: int
    api_key_id: int | None  # None: a member token


async def member_access(
    request: Request,
    settings: SettingsDep,
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> MemberCaller:
    return await _caller(request, settings, customer_id, bearer, header, (Scope.admin,))


async def checkout_member_access(
    request: Request,
    settings: SettingsDep,
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> MemberCaller:
    """Also the shop's server and the till (storefront, pos keys): they act for the member
    in front of them at checkout, as they do when they redeem a coupon."""
    return await _caller(
        request, settings, customer_id, bearer, header, (Scope.admin, Scope.storefront, Scope.pos)
    )


async def _caller(
    request: Request,
    settings: SettingsDep,
    customer_id: int,
    bearer: HTTPAuthorizationCredentials | None,
    header: str | None,
    scopes: tuple[Scope, ...],
) -> MemberCaller:
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise MissingApiKey("send an admin key or a member token as `Authorization: Bearer ...`")
    if tokens.looks_like_token(presented):
        assert settings.secret_key is not None  # Settings fills or refuses it
        member_id = tokens.read(
            settings.secret_key.get_secret_value().encode(), presented, int(utc_now().timestamp())
        )
        if member_id != customer_id:
            raise MemberTokenMismatch("this member token is for another member")
        return MemberCaller(member_id=member_id, api_key_id=None)
    key = await authenticate_apart(request, presented)
    if not any(allows(key.scopes, scope) for scope in scopes):
        raise InsufficientScope("only an admin key or the member's own token may act for a member")
    request.state.api_key_id = key.id
    return MemberCaller(member_id=customer_id, api_key_id=key.id)


MemberAccess = Annotated[MemberCaller, Depends(member_access)]
CheckoutMemberAccess = Annotated[MemberCaller, Depends(checkout_member_access)]
