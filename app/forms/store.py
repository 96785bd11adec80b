"""Reads the forms features need, through the search service (so visibility rules apply)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.fhir.json import loads_stored
from app.forms.questionnaire import split_canonical
from app.security import hooks
from app.security.interactions import AuditRecord, EntityContent, Interaction
from app.services.context import SYSTEM, RequestContext
from app.services.search import SearchService

_LOCAL_REF = re.compile(r"^(?:(?P<base>.+)/)?Questionnaire/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/\d+)?$")


class FormStore:
    """Resource lookups for one request's actor."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        # What the caller was shown, for the operation's audit record: "Type/id" -> (version, content).
        self.seen: dict[str, tuple[int | None, dict[str, Any]]] = {}

    async def find(
        self, res_type: str, params: dict[str, str], *, limit: int = 50, ctx: RequestContext | None = None
    ) -> list[dict[str, Any]]:
        """Current resources matching search params (visible to ctx, default the caller).

        Reads as the caller pass the same scope check as a search, and are remembered for the audit.
        """
        if ctx is None:
            hooks.start(self.ctx, Interaction.SEARCH_TYPE, res_type)
        service = SearchService(self.session, ctx or self.ctx, self.settings)
        rows = await service.find_matches(res_type, urlencode(params), limit=limit)
        out = []
        for row in rows:
            data = loads_stored(row.content) if row.content is not None else None
            if isinstance(data, dict):
                out.append(data)
                if ctx is None:
                    self.seen[f"{row.res_type}/{row.res_id}"] = (row.version_id, data)
        return out

    def audit_record(self, operation: str, res_type: str) -> AuditRecord:
        """The audit record of an operation that showed the caller what this store read."""
        keys = list(self.seen)
        entities = [(k.split("/", 1)[0], k.split("/", 1)[1], self.seen[k][0]) for k in keys]
        contents: list[EntityContent] = [self.seen[k][1] for k in keys]
        return AuditRecord(
            Interaction.OPERATION, res_type, 200, entities, contents=contents, operation=operation
        )

    async def get(self, res_type: str, res_id: str) -> dict[str, Any] | None:
        """One current resource by id, if the caller may see it."""
        found = await self.find(res_type, {"_id": res_id}, limit=1)
        return found[0] if found else None

    async def questionnaire(
        self,
        canonical: str,
        contained: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """The Questionnaire a canonical names: contained '#id', by url(|version), or a local id.

        Questionnaires are registry resources, so the canonical lookup runs as SYSTEM.
        """
        if canonical.startswith("#"):
            return next(
                (
                    c
                    for c in contained or []
                    if c.get("resourceType") == "Questionnaire" and c.get("id") == canonical[1:]
                ),
                None,
            )
        url, version = split_canonical(canonical)
        params = {"url": url, **({"version": version} if version else {})}
        found = await self.find("Questionnaire", params, limit=20, ctx=SYSTEM)
        if found:
            # Several versions under one url: prefer an active one, then the most recently changed.
            return max(
                found,
                key=lambda q: (
                    q.get("status") == "active",
                    str((q.get("meta") or {}).get("lastUpdated", "")),
                ),
            )
        m = _LOCAL_REF.match(url)
        if m and (m.group("base") is None or m.group("base").rstrip("/") == self.settings.base):
            found = await self.find("Questionnaire", {"_id": m.group("id")}, limit=1, ctx=SYSTEM)
            return found[0] if found else None
        return None
