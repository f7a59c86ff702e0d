"""FastAPI dependencies that check the caller's key and scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from trofast.auth import service
from trofast.auth.errors import InsufficientScope, MissingApiKey
from trofast.auth.scopes import Scope, allows
from trofast.deps import SessionDep
from trofast.models import ApiKey

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer tf_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: tf_...`")

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing_api_key or invalid_api_key"},
    403: {"description": "insufficient_scope"},
}


def require(scope: Scope) -> Callable[..., ApiKey]:
    def dependency(
        request: Request,
        session: SessionDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> ApiKey:
        presented = bearer.credentials if bearer is not None else header
        if not presented:
            raise MissingApiKey("send an API key as `Authorization: Bearer <key>`")
        key = service.authenticate(session, presented)
        if not allows(key.scopes, scope):
            raise InsufficientScope(f"this key lacks the {scope.value!r} scope")
        request.state.api_key_id = key.id
        return key

    return dependency


AdminKey = Annotated[ApiKey, Depends(require(Scope.admin))]
IngestKey = Annotated[ApiKey, Depends(require(Scope.ingest))]
PosKey = Annotated[ApiKey, Depends(require(Scope.pos))]
