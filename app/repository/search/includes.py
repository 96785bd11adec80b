"""_include / _revinclude (https://hl7.org/fhir/R4/search.html#include), compartments and
row fetches. Every query passes the consent hook (visible_clause)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import hooks as consent_hooks
from app.db.index_tables import ReferenceIndex
from app.db.tables import ResourceRow
from app.repository.resources import RESOURCE_COLUMNS, detached_row
from app.repository.search import visibility
from app.services.context import RequestContext

R = ResourceRow
Inclusion = tuple[str, str, str | None, bool]  # (source type, param, target type, iterate)
CHUNK = 500  # pks/ids per IN list
_TABLE = cast(Table, R.__table__).c  # search pages are read as columns (no identity map)
_COLUMNS = tuple(_TABLE[c] for c in RESOURCE_COLUMNS)


def _visible(ctx: RequestContext, types: Sequence[str]) -> ColumnElement[bool] | None:
    """OR of per-type visibility clauses; None when nothing is restricted."""
    clauses = [(t, visibility.visible_clause(ctx, t, R.pk)) for t in types]
    if all(c is None for _, c in clauses):
        return None
    return or_(*(and_(R.res_type == t, c) if c is not None else R.res_type == t
                 for t, c in clauses))


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    """Split a list into IN-list sized chunks."""
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _spec_terms(specs: list[Inclusion]) -> list[ColumnElement[bool]]:
    """One condition on the reference index per `Source:param[:Target]` (or `*`)."""
    ref = ReferenceIndex
    terms: list[ColumnElement[bool]] = []
    for s_type, param, target, _ in specs:
        conds = [] if s_type == "*" else [ref.res_type == s_type]
        conds += [] if param == "*" else [ref.param == param]
        conds += [] if target is None else [ref.target_type == target]
        terms.append(and_(*conds) if conds else true())
    return terms


async def included(
    session: AsyncSession, ctx: RequestContext, src: list[tuple[int, str]],
    specs: list[Inclusion], types: Sequence[str],
) -> list[tuple[int, str]]:
    """(pk, type) of resources that `src` (pk, type) reference through `specs`."""
    ref = ReferenceIndex
    out: list[tuple[int, str]] = []
    vis = _visible(ctx, types)
    for chunk in _chunks(src):
        terms = _source_terms(list(chunk), specs)
        if not terms:
            continue
        stmt = (
            select(R.pk, R.res_type).distinct()
            .join(ref, and_(ref.target_type == R.res_type, ref.target_id == R.res_id))
            .where(or_(*terms), R.deleted == false())
        )
        if vis is not None:
            stmt = stmt.where(vis)
        if (guard := consent_hooks.include_guard(ctx, ref)) is not None:
            stmt = stmt.where(guard)  # consent: no links out of redacted parts
        out += [(r[0], r[1]) for r in (await session.execute(stmt)).all()]
    return out


def _source_terms(src: list[tuple[int, str]], specs: list[Inclusion]) -> list[ColumnElement[bool]]:
    """Per spec: its source pks (typed here, not in SQL) with the param and target type.

    Leaving `res_type` out of the SQL keeps the lookup on the (res_pk, param) index; with it,
    SQLite (without statistics) walked the whole (res_type, param) range of the covering index.
    """
    ref = ReferenceIndex
    terms: list[ColumnElement[bool]] = []
    for s_type, param, target, _ in specs:
        pks = [pk for pk, t in src if s_type in ("*", t)]
        if not pks:
            continue
        conds: list[ColumnElement[bool]] = [ref.res_pk.in_(pks)]
        conds += [] if param == "*" else [ref.param == param]
        conds += [] if target is None else [ref.target_type == target]
        terms.append(and_(*conds))
    return terms


async def revincluded(
    session: AsyncSession, ctx: RequestContext, targets: list[tuple[str, str]],
    specs: list[Inclusion], types: Sequence[str],
) -> list[tuple[int, str]]:
    """(pk, type) of resources that reference any of `targets` (type, id) through `specs`."""
    ref = ReferenceIndex
    terms = _spec_terms(specs)
    by_type: dict[str, list[str]] = {}
    for t, i in targets:
        by_type.setdefault(t, []).append(i)
    out: list[tuple[int, str]] = []
    vis = _visible(ctx, types)
    for t, ids in by_type.items():
        for chunk in _chunks(ids):
            stmt = (
                select(R.pk, R.res_type).distinct().join(ref, ref.res_pk == R.pk)
                .where(ref.target_type == t, ref.target_id.in_(chunk), or_(*terms),
                       R.deleted == false())
            )
            if vis is not None:
                stmt = stmt.where(vis)
            out += [(r[0], r[1]) for r in (await session.execute(stmt)).all()]
    return out


async def fetch_rows(session: AsyncSession, pks: list[int], *,
                     detached: bool = False) -> dict[int, ResourceRow]:
    """Resource rows by pk (content included), in chunks.

    `detached`: rows only to be serialised (a search page), built from columns without the
    session's identity map, which costs more than the query for a page of resources.
    """
    out: dict[int, ResourceRow] = {}
    for chunk in _chunks(pks):
        if not detached:
            res = await session.execute(select(R).where(R.pk.in_(chunk)))
            out.update({row.pk: row for row in res.scalars()})
            continue
        rows = (await session.execute(select(*_COLUMNS).where(_TABLE.pk.in_(chunk)))).all()
        out.update({r[0]: detached_row(R, RESOURCE_COLUMNS, tuple(r)) for r in rows})
    return out


async def fetch_keys(session: AsyncSession, pks: list[int]) -> list[tuple[int, str, str]]:
    """(pk, type, id) for pks (to resolve revinclude targets)."""
    out: list[tuple[int, str, str]] = []
    for chunk in _chunks(pks):
        res = await session.execute(select(R.pk, R.res_type, R.res_id).where(R.pk.in_(chunk)))
        out += [(r[0], r[1], r[2]) for r in res.all()]
    return out


def compartment_where(
    comp_type: str, comp_id: str, res_type: str, params: Sequence[str]
) -> ColumnElement[bool]:
    """Resources of `res_type` in the `comp_type/comp_id` compartment (via its params)."""
    ref = ReferenceIndex
    terms: list[ColumnElement[bool]] = []
    if params:
        sub = select(ref.res_pk).where(
            ref.res_type == res_type, ref.param.in_(list(params)),
            ref.target_type == comp_type, ref.target_id == comp_id,
        ).correlate(None)
        terms.append(R.pk.in_(sub))
    if res_type == comp_type:  # the compartment's own resource is in it
        terms.append(R.res_id == comp_id)
    return or_(*terms) if terms else false()
