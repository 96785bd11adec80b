"""Request dependencies: settings, database session (unit of work) and actor context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.api.negotiation import check_accept
from app.config import Settings
from app.db.engine import Database
from app.security.auth import authenticate
from app.services.context import RequestContext

_READ_METHODS = frozenset({"GET", "HEAD"})


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_context(request: Request) -> RequestContext:
    """The authenticated actor of this request (401 when authentication fails)."""
    check_accept(request)
    return await authenticate(request, request.app.state.settings)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed on success, rolled back on error."""
    db: Database = request.app.state.db
    async with db.session(write=request.method not in _READ_METHODS) as session:
        yield session


@dataclass(frozen=True, slots=True)
class Env:
    """Everything a FHIR route needs, resolved once."""

    request: Request
    session: AsyncSession
    ctx: RequestContext
    settings: Settings


async def get_env(
    request: Request,
    ctx: RequestContext = Depends(get_context),
    session: AsyncSession = Depends(get_session, scope="function"),
) -> Env:
    """Bundle the request's dependencies; the session commits before the response is sent."""
    return Env(request, session, ctx, request.app.state.settings)
