from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trofast.auth.dependencies import PosKey
from trofast.deps import SessionDep, SettingsDep
from trofast.ingest.endpoints import INGEST_RESPONSES, receive_with_key
from trofast.ingest.openapi import body_schema, request_body
from trofast.ingest.schemas import EventsResponse
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
