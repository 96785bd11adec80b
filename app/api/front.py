"""A pure-ASGI front for GET read and vread, the hottest requests: no router walk, no dependency solving.

FastAPI's routing (every included router tried in order) and dependency machinery cost more than
the read itself. This front recognises `/fhir/{type}/{id}` and `/fhir/{type}/{id}/_history/{vid}`
for the types the core router serves and calls the very route functions of app.api.routes with
the same dependencies (`get_context`, the read session); everything else, and every type another
router owns, goes through FastAPI untouched. The FastAPI routes stay for OpenAPI and /metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import routes
from app.api.deps import Env, get_context
from app.db.engine import Database

PREFIX = "/fhir/"


class ReadFront:
    """ASGI middleware: answer plain reads and vreads itself, pass everything else on."""

    def __init__(self, app: ASGIApp, types: Iterable[str], handlers: dict[Any, Any]) -> None:
        self.app = app
        self.types = frozenset(types)
        self.handlers = handlers  # the application's exception handlers (rendered identically)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route GET reads and vreads here, everything else to the application."""
        key = _read_key(scope, self.types) if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await _answer(request, *key)
        except Exception as exc:
            handler = _handler_for(self.handlers, exc)
            if handler is None:
                raise  # the catch-all handler lives in ServerErrorMiddleware, as for any route
            response = await handler(request, exc)
        await response(scope, receive, send)


def _read_key(scope: Scope, types: frozenset[str]) -> tuple[str, str, str | None] | None:
    """(type, id, version or None) when the request is a read or vread the core routes answer."""
    if scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX):].split("/")
    if len(parts) not in (2, 4) or parts[0] not in types:
        return None
    res_id = parts[1]
    if not res_id or res_id[0] in "$_":  # operations, _history, _search: other routes
        return None
    if len(parts) == 2:
        return parts[0], res_id, None
    if parts[2] != "_history" or not parts[3]:
        return None
    return parts[0], res_id, parts[3]


async def _answer(request: Request, res_type: str, res_id: str, vid: str | None) -> Response:
    """The route function with its dependencies resolved as FastAPI would (app.api.deps)."""
    ctx = await get_context(request)
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        env = Env(request, session, ctx, request.app.state.settings)
        if vid is None:
            return await routes.read(res_id, res_type, env)
        return await routes.vread(res_id, vid, res_type, env)


def _handler_for(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The registered handler for an exception (by class, most specific first), if any."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        handler = handlers.get(cls)
        if handler is not None:
            return handler
    return None


def core_read_types(app_routes: list[Any], served: Iterable[str]) -> set[str]:
    """Served types whose `GET /{type}/{id}` reaches the core read (no other router owns them)."""
    owned = {path.split("/")[1] for path in _get_paths(app_routes) if path.count("/") == 2
             and path.endswith("}") and not path.startswith("/{")}
    return set(served) - owned


def _get_paths(app_routes: list[Any]) -> list[str]:
    """Every GET route path, through included routers (prefixes removed)."""
    out: list[str] = []
    for route in app_routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out.extend(_get_paths(list(inner.routes)))
        elif "GET" in (getattr(route, "methods", None) or ()):
            out.append(str(getattr(route, "path", "")).removeprefix("/fhir"))
    return out
