"""Ledger routes: a member's history with reasons, and admin adjustments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep
from trofast.ledger import queries, service
from trofast.ledger.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BalanceOut,
    LedgerOut,
    TransactionOut,
)
from trofast.member.access import MEMBER_RESPONSES, MemberAccess

router = APIRouter(prefix="/v1/members", tags=["ledger"])

CustomerId = Annotated[int, Path(ge=1, le=2**62)]
# Admin keys live in their own namespace so a client key can never collide with the keys
# the ledger derives for its own jobs (`settle:lot:<id>`, `expire:lot:<id>`).
ADMIN_KEY_PREFIX = "admin:"


@router.get(
    "/{customer_id}/ledger",
    response_model=LedgerOut,
    responses={**MEMBER_RESPONSES, 404: {"description": "member_not_found"}},
    summary="A member's balance and ledger history (admin key or the member's own token)",
)
def member_ledger(
    customer_id: CustomerId,
    session: SessionDep,
    _caller: MemberAccess,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LedgerOut:
    views = queries.history(session, customer_id, before_id=before, limit=limit)
    summary = queries.balance_summary(session, customer_id)
    return LedgerOut(
        customer_id=customer_id,
        balance=BalanceOut.build(summary),
        transactions=[TransactionOut.build(v) for v in views],
        next_before=views[-1].transaction.id if len(views) == limit else None,
    )


@router.post(
    "/{customer_id}/adjustments",
    response_model=AdjustmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **AUTH_RESPONSES,
        200: {"description": "replay: this key was used before with the same request"},
        400: {"description": "invalid_ledger_request"},
        404: {"description": "member_not_found"},
        409: {"description": "insufficient_points or idempotency_conflict"},
    },
    summary="Add or remove points by hand, with a reason; the acting key is recorded",
)
async def adjust(
    customer_id: CustomerId,
    body: AdjustmentIn,
    session: SessionDep,
    key: AdminKey,
    response: Response,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=150)],
) -> AdjustmentOut:
    # One hop on the worker threads, then the response is built on the event loop. As a
    # sync endpoint, FastAPI validated its response on a worker thread *before* the unit of
    # work committed: with 40 requests for one member waiting for its lock on all 40
    # threads, the holder never got a thread to finish, and everyone stalled until the
    # connection pool timed out (50 simultaneous adjustments did).
    entry, view = await run_in_threadpool(
        _adjust, session, customer_id, body, key.id, ADMIN_KEY_PREFIX + idempotency_key
    )
    if entry.replayed:
        response.status_code = status.HTTP_200_OK
    return AdjustmentOut(**TransactionOut.build(view).model_dump(), replayed=entry.replayed)


def _adjust(
    session: Session, customer_id: int, body: AdjustmentIn, api_key_id: int, key: str
) -> tuple[service.Entry, queries.TransactionView]:
    entry = service.adjust(
        session,
        customer_id,
        key,
        body.points,
        note=body.reason,
        api_key_id=api_key_id,
        expires_at=body.expires_at,
    )
    return entry, queries.transaction_view(session, entry.transaction_id)
