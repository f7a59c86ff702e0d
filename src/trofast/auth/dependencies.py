"""FastAPI dependencies that check the caller's key and scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from trofast.auth import service
from trofast.auth.cache import KeyCache
from trofast.auth.errors import InsufficientScope, MissingApiKey
from trofast.auth.scopes import Scope, allows
from trofast.db import unit_of_work
from trofast.models import ApiKey

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer tf_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: tf_...`")

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing_api_key or invalid_api_key"},
    403: {"description": "insufficient_scope"},
}


async def authenticate_apart(request: Request, presented: str) -> ApiKey:
    """Check a key in a short transaction of its own, committed before the endpoint runs.
    A key checked recently comes from the cache without leaving the event loop.

    The check and the endpoint run in two hops on the worker-thread pool. Had the check
    opened the request's transaction, that transaction would hold SQLite's write lock
    (BEGIN IMMEDIATE), or on PostgreSQL the key row's lock after `touch`, while it waited
    for a thread to run the endpoint; with every thread taken by requests waiting for that
    lock nothing moves until the busy timeout. 100 simultaneous checkouts did exactly that.
    """
    cache: KeyCache = request.app.state.key_cache
    key = cache.get(presented)
    if key is not None:
        return key
    key = await run_in_threadpool(_check, request.app.state.sessionmaker, presented)
    cache.put(presented, key)
    return key


def _check(sessionmaker: sessionmaker[Session], presented: str) -> ApiKey:
    with unit_of_work(sessionmaker) as session:
        key = service.authenticate(session, presented)
        session.expunge(key)
    return key


def require(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    return require_any(scope)


def require_any(*scopes: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A key with at least one of `scopes` (an admin key has them all)."""

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> ApiKey:
        presented = bearer.credentials if bearer is not None else header
        if not presented:
            raise MissingApiKey("send an API key as `Authorization: Bearer <key>`")
        key = await authenticate_apart(request, presented)
        if not any(allows(key.scopes, scope) for scope in scopes):
            wanted = " or ".join(repr(scope.value) for scope in scopes)
            raise InsufficientScope(f"this key lacks the {wanted} scope")
        request.state.api_key_id = key.id
        return key

    return dependency


AdminKey = Annotated[ApiKey, Depends(require(Scope.admin))]
IngestKey = Annotated[ApiKey, Depends(require(Scope.ingest))]
PosKey = Annotated[ApiKey, Depends(require(Scope.pos))]
