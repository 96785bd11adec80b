"""Authentication: turns a request into a RequestContext."""

from __future__ import annotations

import uuid

from starlette.requests import Request

from app.config import Settings
from app.services.context import ActorKind, RequestContext


async def authenticate(request: Request, settings: Settings) -> RequestContext:
    """Build the request's actor context (open development actor until auth is enabled)."""
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    return RequestContext(kind=ActorKind.OPEN, request_id=rid)
