from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey, IngestKey
from trofast.config import Settings
from trofast.deps import SessionDep, SettingsDep
from trofast.errors import NotFound
from trofast.ingest import repository, service
from trofast.ingest.canonical import normalise_canonical
from trofast.ingest.http import kept_headers, read_body
from trofast.ingest.normalisers import is_woocommerce_ping, make_segment_normaliser
from trofast.ingest.openapi import body_schema, request_body
from trofast.ingest.replay import replay_delivery
from trofast.ingest.schemas import CanonicalEvent, EventBatch, EventsResponse
from trofast.ingest.views import DeliveryOut
from trofast.ingest.webhooks import KINDS, receive_webhook
from trofast.models import ApiKey

router = APIRouter(prefix="/v1", tags=["ingestion"])

EVENTS_SCHEMA, EVENT_DEFS = body_schema(EventBatch | CanonicalEvent)

INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    400: {"description": "invalid_json, unsupported_topic or invalid_payload"},
    409: {"description": "idempotency_conflict: a key reused with another body"},
    413: {"description": "payload_too_large"},
    422: {"description": "validation_error or a stable field code (unknown_currency, ...)"},
    503: {"description": "processing_failed: stored, retry or replay later"},
}


def respond(outcome: service.Outcome) -> JSONResponse:
    if outcome.error is not None:
        return JSONResponse(outcome.error.to_dict(), status_code=outcome.error.status_code)
    body = EventsResponse.model_validate(
        {"delivery_id": outcome.delivery.id, "results": outcome.results}
    )
    return JSONResponse(body.model_dump(mode="json"))


async def receive_with_key(
    request: Request,
    session: Session,
    settings: Settings,
    key: ApiKey,
    *,
    channel: str,
    topic: str,
    normalise: service.Normalise,
) -> JSONResponse:
    """The path every key-authenticated delivery takes: read, store, apply, answer."""
    body = await read_body(request, settings.max_body_bytes)
    delivery = service.new_delivery(
        channel=channel,
        source_name=channel,
        topic=topic,
        headers=kept_headers(request),
        body=body,
        verification="api_key",
        api_key_id=key.id,
    )
    outcome = await run_in_threadpool(
        service.receive, session, delivery, normalise, currency=settings.currency
    )
    return respond(outcome)


@router.post(
    "/events",
    response_model=EventsResponse,
    responses=INGEST_RESPONSES,
    openapi_extra=request_body(EVENTS_SCHEMA),
    summary="Send one canonical event or a batch of up to 1,000",
)
async def post_events(
    request: Request, session: SessionDep, settings: SettingsDep, key: IngestKey
) -> JSONResponse:
    return await receive_with_key(
        request,
        session,
        settings,
        key,
        channel="api",
        topic="events",
        normalise=normalise_canonical,
    )


WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_json, unsupported_topic or invalid_payload"},
    401: {"description": "bad_signature or unknown_source (no secret for this shop)"},
    409: {"description": "idempotency_conflict"},
    413: {"description": "payload_too_large"},
    422: {"description": "validation_error or a stable field code"},
    503: {"description": "processing_failed: stored, retry or replay later"},
}
_RAW_JSON = request_body({"type": "object", "additionalProperties": True})


@router.post(
    "/webhooks/shopify",
    response_model=EventsResponse,
    responses=WEBHOOK_RESPONSES,
    openapi_extra=_RAW_JSON,
    summary="Shopify webhooks, verified with X-Shopify-Hmac-Sha256",
)
async def shopify_webhook(
    request: Request, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    body = await read_body(request, settings.max_body_bytes)
    outcome = await run_in_threadpool(
        receive_webhook, session, KINDS["shopify"], kept_headers(request), body, settings
    )
    return respond(outcome)


@router.post(
    "/webhooks/woocommerce",
    response_model=EventsResponse,
    responses=WEBHOOK_RESPONSES,
    openapi_extra=_RAW_JSON,
    summary="WooCommerce webhooks, verified with X-WC-Webhook-Signature",
)
async def woocommerce_webhook(
    request: Request, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    body = await read_body(request, settings.max_body_bytes)
    headers = kept_headers(request)
    if is_woocommerce_ping(body, headers):
        # WooCommerce checks a new webhook with an unsigned ping and disables it on non-2xx.
        return JSONResponse({"delivery_id": 0, "results": []})
    outcome = await run_in_threadpool(
        receive_webhook, session, KINDS["woocommerce"], headers, body, settings
    )
    return respond(outcome)


@router.post(
    "/webhooks/segment",
    response_model=EventsResponse,
    responses=INGEST_RESPONSES,
    openapi_extra=_RAW_JSON,
    summary="Segment e-commerce spec events (a Segment webhook destination), with an API key",
)
async def segment_webhook(
    request: Request, session: SessionDep, settings: SettingsDep, key: IngestKey
) -> JSONResponse:
    return await receive_with_key(
        request,
        session,
        settings,
        key,
        channel="segment",
        topic="track",
        normalise=make_segment_normaliser(settings.currency),
    )


@router.get(
    "/deliveries",
    response_model=list[DeliveryOut],
    responses=AUTH_RESPONSES,
    summary="The delivery log: every delivery received, its status and error",
)
def list_deliveries(
    session: SessionDep,
    _key: AdminKey,
    status: Annotated[
        str | None, Query(pattern="^(received|processed|duplicate|failed|rejected)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> list[DeliveryOut]:
    rows = repository.deliveries(session, status=status, limit=limit, after_id=after)
    return [DeliveryOut.from_row(row) for row in rows]


@router.post(
    "/deliveries/{delivery_id}/replay",
    response_model=DeliveryOut,
    responses={**AUTH_RESPONSES, 404: {"description": "delivery_not_found"}},
    summary="Normalise and apply a stored delivery again (after a fix)",
)
def replay(
    delivery_id: Annotated[int, Path(ge=1, le=2**53)],
    session: SessionDep,
    settings: SettingsDep,
    _key: AdminKey,
) -> DeliveryOut:
    delivery = repository.get_delivery(session, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}", code="delivery_not_found")
    replay_delivery(session, delivery, settings)
    return DeliveryOut.from_row(delivery)
