"""The ASGI application: FastAPI with the FHIR routers mounted under /fhir."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.api import audit as audit_routes
from app.api import bundles as bundle_routes
from app.api import conformance as conformance_routes
from app.api import errors
from app.api import operations as operation_routes
from app.api import routes as core_routes
from app.api import search as search_routes
from app.api.deps import get_context
from app.api.front import ReadFront, core_read_types
from app.api.negotiation import check_accept, fhir_response
from app.config import Settings, get_settings
from app.db.engine import Database
from app.fhir.json import dumps
from app.fhir.models import SERVED, load_all
from app.search.refs import set_local_base
from app.security import smart
from app.services import capability
from app.services.seed import seed_profile_resources
from app.subscriptions.runner import start_in_app
from app.validation.hook import warm_up

log = logging.getLogger("fellesplan")
FHIR = "/fhir"


def _metadata_router() -> APIRouter:
    """GET /metadata: public, generated once at start-up."""
    router = APIRouter()

    @router.get("/metadata", name="interaction:capabilities")
    async def metadata(request: Request) -> Response:
        """The CapabilityStatement."""
        check_accept(request)
        return fhir_response(request, request.app.state.capability_bytes)

    return router


def _route_names(routes: list[Any]) -> list[str]:
    """The names of every registered route, through included routers."""
    names: list[str] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            names.extend(_route_names(list(inner.routes)))
        else:
            names.append(getattr(route, "name", "") or "")
    return names


def _mount_fhir(app: FastAPI) -> None:
    """Mount every FHIR router under /fhir, one level deep (nested routers cost per request)."""
    app.include_router(_metadata_router(), prefix=FHIR)
    app.include_router(smart.router, prefix=FHIR)
    app.include_router(audit_routes.router, prefix=FHIR)
    app.include_router(operation_routes.router, prefix=FHIR)
    # Conformance resources are for every authenticated actor, not the public (only /metadata is).
    app.include_router(conformance_routes.router, prefix=FHIR, dependencies=[Depends(get_context)])
    app.include_router(bundle_routes.router, prefix=FHIR)
    # Batch/transaction is POSTed, and system search is sent, to the bare base.
    app.add_api_route(FHIR, bundle_routes.transaction_or_batch, methods=["POST"],
                      name="transaction-base", include_in_schema=False)
    app.add_api_route(FHIR, search_routes.search_system, methods=["GET"], name="search-system-base",
                      include_in_schema=False)
    # Core routes before search: their literal segments (_history) must win over compartments.
    app.include_router(core_routes.router, prefix=FHIR)
    app.include_router(search_routes.router, prefix=FHIR)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the application (tests pass their own settings and database)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(settings)
        app.state.db = db
        if database is None:
            # Compile the validator now, not on the first write's clock.
            await asyncio.to_thread(warm_up)
            await seed_profile_resources(db)
            load_all()
            # What is loaded now (models, definitions, compiled profiles) lives as long as the
            # process: frozen, the collector stops re-scanning it in every full collection.
            gc.collect()
            gc.freeze()
        # Subscription delivery runs inside `fellesplan serve` unless turned off (app/subscriptions).
        deliveries = start_in_app(db) if database is None else None
        try:
            yield
        finally:
            if deliveries is not None:
                await deliveries.stop()
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Fellesplan FHIR API",
        version=__version__,
        description="FHIR R4 (4.0.1) server for shared crisis plans (kriseplan) and individual plans.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    # Absolute references on our own base are indexed as local ones.
    set_local_base(settings.base)
    if database is not None:
        app.state.db = database
    _mount_fhir(app)
    errors.install(app)
    # Reads and vreads skip FastAPI's routing and dependency solving (same route functions).
    app.add_middleware(ReadFront, types=core_read_types(list(app.routes), SERVED),
                       handlers=app.exception_handlers)
    cap: dict[str, Any] = capability.build(_route_names(list(app.routes)), settings,
                                           smart.security_element(settings), audit_routes.SEARCH_PARAMS)
    app.state.capability_bytes = dumps(cap)
    return app
