"""Every /fhir route demands a token, except /metadata and the SMART configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.security.conftest import auth_settings

PUBLIC = {("GET", "/fhir/metadata"), ("GET", "/fhir/.well-known/smart-configuration")}
FILL = {"res_type": "CarePlan", "res_id": "x1", "vid": "1", "code": "validate",
        "comp_type": "Patient", "comp_id": "p1"}


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, concrete path) for every route of the app."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:  # FastAPI's included routers keep their own prefix
            include = getattr(r, "include_context", None)
            outer = getattr(include, "prefix", "") or ""
            yield from _routes(list(inner.routes), prefix + outer + (inner.prefix or ""))
            continue
        path = getattr(r, "path", None)
        methods = getattr(r, "methods", None)
        if path is None or not methods:
            continue
        for m in sorted(methods - {"HEAD"}):
            yield m, prefix + path.format(**FILL)


def _fhir_routes() -> list[tuple[str, str]]:
    app = create_app(auth_settings("sqlite+aiosqlite:///:memory:", "/nonexistent"))
    return sorted({(m, p) for m, p in _routes(list(app.routes)) if p.startswith("/fhir")})


def test_route_list_is_complete() -> None:
    assert len(_fhir_routes()) > 30  # fails if routes move so this test would see none


@pytest.mark.parametrize(("method", "path"), _fhir_routes())
async def test_route_requires_authentication(client: httpx.AsyncClient, method: str,
                                             path: str) -> None:
    resp = await client.request(method, path, content=b"{}",
                                headers={"Content-Type": "application/fhir+json"})
    if (method, path) in PUBLIC:
        assert resp.status_code == 200
    else:
        assert resp.status_code == 401, (method, path, resp.status_code, resp.text[:200])
        assert resp.headers["www-authenticate"].startswith("Bearer")
