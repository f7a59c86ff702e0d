"""The application factory. The engine is built in the lifespan, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from trofast import __version__
from trofast.auth.cache import KeyCache
from trofast.config import Settings, get_settings
from trofast.coupon.endpoints import member_router as member_coupons_router
from trofast.coupon.endpoints import router as coupons_router
from trofast.coupon.guard import build_throttle
from trofast.customer.endpoints import router as customers_router
from trofast.db import build_engine, build_sessionmaker
from trofast.errors import AppError, validation_failed
from trofast.ingest.endpoints import EVENT_DEFS
from trofast.ingest.endpoints import router as ingest_router
from trofast.insight.endpoints import router as analytics_router
from trofast.kit.heap import freeze_startup_heap
from trofast.kit.nul import RefuseNul
from trofast.ledger.endpoints import router as ledger_router
from trofast.member.endpoints import router as members_router
from trofast.member.guard import build_throttle as build_member_throttle
from trofast.order.endpoints import router as orders_router
from trofast.pos.endpoints import RECEIPT_DEFS
from trofast.pos.endpoints import router as pos_router
from trofast.program.endpoints import router as program_router
from trofast.referral.endpoints import router as referrals_router
from trofast.reward.endpoints import admin_router as redemptions_router
from trofast.reward.endpoints import router as rewards_router

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def create_served_app() -> FastAPI:
    """The app `trofast serve` runs (uvicorn's factory in each worker process)."""
    return create_app(freeze_heap=True)


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, freeze_heap: bool = False
) -> FastAPI:
    """Build the app; pass `engine` to share one (tests), else the lifespan builds it.
    `freeze_heap` is for a process that serves this app alone: tests keep it off, since
    frozen objects are never freed and a test session builds hundreds of apps."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or build_engine(settings)
        app.state.sessionmaker = getattr(app.state, "sessionmaker", None) or build_sessionmaker(
            app.state.engine
        )
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            if owned:
                app.state.engine.dispose()

    app = FastAPI(
        title="Trofast",
        version=__version__,
        summary="Customer loyalty and retention for shops online and in stores.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.coupon_throttle = build_throttle(settings)
    app.state.member_throttle = build_member_throttle(settings)
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    if engine is not None:
        app.state.engine = engine
        app.state.sessionmaker = build_sessionmaker(engine)
    for router in (
        ingest_router,
        pos_router,
        customers_router,
        orders_router,
        ledger_router,
        program_router,
    ):
        app.include_router(router)
    for router in (coupons_router, member_coupons_router, members_router):
        app.include_router(router)
    for router in (rewards_router, redemptions_router):
        app.include_router(router)
    app.include_router(referrals_router)
    app.include_router(analytics_router)
    _install_error_handlers(app)
    _install_openapi(app)
    app.add_middleware(RefuseNul)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_failed(list(exc.errors()), "invalid request")
        return JSONResponse(error.to_dict(), status_code=error.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": str(exc.detail), "code": code, "detail": None},
            status_code=exc.status_code,
            headers=exc.headers,
        )


def _install_openapi(app: FastAPI) -> None:
    """Add the schemas of raw-body endpoints to the generated document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(EVENT_DEFS)
            components.update(RECEIPT_DEFS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
