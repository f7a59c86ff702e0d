"""Member tokens for the shop front."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field

from trofast.auth.dependencies import AUTH_RESPONSES, require
from trofast.auth.scopes import Scope
from trofast.deps import SessionDep, SettingsDep
from trofast.kit.time import utc_now
from trofast.member import repository, tokens
from trofast.member.errors import MemberNotFound
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
