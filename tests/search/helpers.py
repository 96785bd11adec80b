"""Run searches through the service and read the Bundle."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services.context import SYSTEM
from app.services.search import SearchService

SETTINGS = Settings(base_url="http://test/fhir", default_page_size=20)


def service(session: AsyncSession, **overrides: Any) -> SearchService:
    """A SearchService for the privileged context."""
    settings = SETTINGS.model_copy(update=overrides) if overrides else SETTINGS
    return SearchService(session, SYSTEM, settings)


async def bundle(session: AsyncSession, res_type: str | None, query: str | list[tuple[str, str]],
                 **kw: Any) -> dict[str, Any]:
    """The searchset Bundle as JSON."""
    params = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
    body = await service(session).search(res_type, params, **kw)
    out: dict[str, Any] = orjson.loads(body)
    return out


async def ids(session: AsyncSession, res_type: str | None, query: str, **kw: Any) -> set[str]:
    """ids of the `match` entries (first page)."""
    b = await bundle(session, res_type, query, **kw)
    return {e["resource"]["id"] for e in b.get("entry", []) if e["search"]["mode"] == "match"}


def link(b: dict[str, Any], rel: str) -> list[tuple[str, str]] | None:
    """A link's query parameters, or None when absent."""
    for lk in b.get("link", []):
        if lk["relation"] == rel:
            return parse_qsl(urlsplit(lk["url"]).query, keep_blank_values=True)
    return None
