"""Run one access path as an actor and reduce the answer to what the reference predicts."""

from __future__ import annotations

from typing import Any

import orjson

from app.consent.expr import UNSECTIONED
from app.db.engine import Database
from app.fhir.errors import FhirError
from app.services.context import RequestContext
from app.services.crud import ResourceService
from app.services.history import HistoryService
from app.services.search import SearchService
from tests.consent.reference import ALL
from tests.consent.world import World

Seen = None | str | list[tuple[str, str] | None]


def sections_of(res: dict[str, Any]) -> list[tuple[str, str] | None]:
    """The section code of each activity of a CarePlan, in order (None: unsectioned)."""
    out: list[tuple[str, str] | None] = []
    for a in res.get("activity") or ():
        codings = (((a.get("detail") or {}).get("code") or {}).get("coding")) or []
        out.append((codings[0]["system"], codings[0]["code"]) if codings else None)
    return out


def reduce(w: World, res: dict[str, Any]) -> Seen:
    """ALL, or the kept sections of a redacted CarePlan (asserting the redaction marks)."""
    if res["resourceType"] != "CarePlan":
        return ALL
    plan = next(p for p in w.plans if p.id == res["id"])
    labels = [s.get("code") for s in (res.get("meta") or {}).get("security") or ()]
    kept = sections_of(res)
    if kept == [*plan.sections, None] and "REDACTED" not in labels:
        return ALL
    assert "REDACTED" in labels, res
    assert "Skjermet" in res["text"]["div"]
    narrative = orjson.dumps(res.get("text")).decode()
    for s in set(plan.sections) - {k for k in kept if k is not None}:
        assert f"tiltak {s[1]}" not in narrative, s  # the stored narrative must not leak
    return kept


async def read(db: Database, ctx: RequestContext, res_type: str, res_id: str) -> dict[str, Any] | int:
    """GET [type]/[id]: the resource, or the error status."""
    async with db.session(write=False) as session:
        try:
            row = await ResourceService(session, ctx, db.settings).read(res_type, res_id)
        except FhirError as exc:
            return exc.status
        assert row.content is not None
        return dict(orjson.loads(row.content))


async def vread(db: Database, ctx: RequestContext, res_type: str, res_id: str) -> dict[str, Any] | int:
    """GET [type]/[id]/_history/1."""
    async with db.session(write=False) as session:
        try:
            row = await ResourceService(session, ctx, db.settings).vread(res_type, res_id, 1)
        except FhirError as exc:
            return exc.status
        assert row.content is not None
        return dict(orjson.loads(row.content))


async def search(db: Database, ctx: RequestContext, res_type: str | None,
                 params: list[tuple[str, str]], compartment: tuple[str, str] | None = None,
                 ) -> tuple[int | None, list[dict[str, Any]]] | int:
    """A search: (total, entry resources across every page), or the error status."""
    out: list[dict[str, Any]] = []
    total = None
    cursor: str | None = None
    while True:
        page = params + ([("_cursor", cursor)] if cursor else [])
        async with db.session(write=False) as session:
            try:
                raw = await SearchService(session, ctx, db.settings).search(
                    res_type, page, compartment=compartment)
            except FhirError as exc:
                return exc.status
        bundle = orjson.loads(raw)
        total = bundle.get("total", total)
        out += [e["resource"] for e in bundle.get("entry") or () if "resource" in e
                and e["resource"]["resourceType"] != "OperationOutcome"]
        nxt = [ln["url"] for ln in bundle.get("link") or () if ln["relation"] == "next"]
        if not nxt:
            return total, out
        cursor = nxt[0].split("_cursor=")[1].split("&")[0]


async def history(db: Database, ctx: RequestContext, res_type: str | None,
                  res_id: str | None) -> list[dict[str, Any]] | int:
    """History (all pages): the resources of the entries, or the error status."""
    out: list[dict[str, Any]] = []
    params: list[tuple[str, str]] = [("_count", "3")]
    while True:
        async with db.session(write=False) as session:
            try:
                raw = await HistoryService(session, ctx, db.settings).history(
                    res_type, res_id, params)
            except FhirError as exc:
                return exc.status
        bundle = orjson.loads(raw)
        out += [e["resource"] for e in bundle.get("entry") or () if "resource" in e]
        nxt = [ln["url"] for ln in bundle.get("link") or () if ln["relation"] == "next"]
        if not nxt:
            return out
        cursor = nxt[0].split("_cursor=")[1].split("&")[0]
        params = [("_count", "3"), ("_cursor", cursor)]


__all__ = ["UNSECTIONED", "history", "read", "reduce", "search", "sections_of", "vread"]
