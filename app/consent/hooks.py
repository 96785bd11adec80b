"""The consent phases the service layer calls (HAPI IConsentService style).

- `prepare` (start): computes the actor's AccessScope once per request and binds it to the
  context, so every later phase uses the same decision.
- `visible_clause` (can-see): an SQL condition AND-ed into every search query before paging.
- `will_see` / `redact_row` (will-see): hides or redacts single resources (reads, history,
  search entries).
- `check_write`: writes need a care relationship, or are the patient's own Consents.

A context that was never prepared sees nothing (fail closed); SYSTEM and OPEN bypass consent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import cache, decide
from app.consent.expr import FALSE
from app.consent.load import build, ensure, load_all
from app.consent.policy import current
from app.consent.redact import REDACTABLE
from app.consent.scope import AccessScope, eligible
from app.consent.searched import searched_patients
from app.db.tables import ResourceRow
from app.repository.access import GUARD_PK, compile_expr, guarded
from app.security.actors import PERSON_SYSTEMS
from app.services.context import RequestContext

_CACHE_KEY = "fellesplan.consent.scopes"
# Writes of these types can change who may see what: scopes cached in the session are dropped.
SCOPE_TYPES = frozenset(cache.SCOPE_TYPES)


@dataclass(frozen=True, slots=True)
class ScopedContext(RequestContext):
    """A RequestContext whose AccessScope has been computed for this request."""

    access: AccessScope | None = field(default=None, compare=False, hash=False, repr=False)


def _plain(ctx: RequestContext) -> RequestContext:
    """The context without its scope (the cache key)."""
    if isinstance(ctx, ScopedContext):
        names = [f.name for f in dataclasses.fields(RequestContext)]
        return RequestContext(**{n: getattr(ctx, n) for n in names})
    return ctx


async def scope_for(session: AsyncSession, ctx: RequestContext, action: str = "read",
                    patients: Sequence[str] | None = ()) -> AccessScope:
    """The actor's scope with `patients` loaded (None: all), once per session and action."""
    if isinstance(ctx, ScopedContext) and ctx.access is not None and ctx.access.action == action:
        scope = ctx.access
    else:
        scopes: dict[Any, AccessScope] = session.info.setdefault(_CACHE_KEY, {})
        key = (_plain(ctx), action)
        if key not in scopes:
            scopes[key] = await build(session, current(), _plain(ctx), action)  # loaded below
        scope = scopes[key]
    if patients is None:
        await load_all(session, scope)
    else:
        await ensure(session, scope, patients)
    return scope


async def prepare(session: AsyncSession, ctx: RequestContext, res_type: str | None = None,
                  params: list[tuple[str, str]] | None = None, *,
                  patients: Sequence[str] | None = ()) -> RequestContext:
    """Start phase: the context with its read scope bound (unchanged for SYSTEM/OPEN)."""
    # A search restricted to patients (`patient=`, `subject=`, `Patient?_id=`) loads only them;
    # `patients` (default: read from the params) lets a caller that knows them say so (None: all).
    # A service that may register patients can find one by exact national identifier
    # (`Patient?identifier=system|value`), which is how it joins the patient's care.
    if ctx.privileged:
        return ctx
    wanted = searched_patients(current(), res_type, params or []) if patients == () else patients
    scope = await scope_for(session, ctx, "read", wanted)
    lookup = find_by_identifier(scope, ctx, res_type, params or [])
    if isinstance(ctx, ScopedContext) and ctx.access is scope and not lookup:
        return ctx
    if lookup:
        scope = dataclasses.replace(scope, lookup=lookup)
    plain = _plain(ctx)
    names = [f.name for f in dataclasses.fields(RequestContext)]
    return ScopedContext(**{n: getattr(plain, n) for n in names}, access=scope)


def find_by_identifier(scope: AccessScope, ctx: RequestContext, res_type: str | None,
                       params: list[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """(system, value) of exact person-identifier criteria a registering service may use."""
    if res_type != "Patient" or not eligible(scope.policy.rule("register"), ctx):
        return frozenset()
    out = set()
    for name, value in params:
        system, _, ident = value.partition("|")
        if name == "identifier" and system in PERSON_SYSTEMS and ident and "," not in ident:
            out.add((system, ident))
    return frozenset(out)


def forget(session: AsyncSession) -> None:
    """Drop cached scopes (after a write that may change relationships or consents)."""
    session.info.pop(_CACHE_KEY, None)


def visible_clause(ctx: RequestContext, res_type: str, pk: Any) -> Any | None:
    """Can-see: rows of `res_type` the actor may see; None when consent does not govern it."""
    if ctx.privileged:
        return None
    policy = current()
    if res_type not in policy.compartment and res_type not in policy.hidden_types:
        return None
    scope = ctx.access if isinstance(ctx, ScopedContext) else None
    if scope is None:  # never prepared: fail closed
        return compile_expr(policy, res_type, pk, FALSE)
    return decide.visibility(scope, res_type, pk)


def criterion_guard(ctx: RequestContext, res_type: str, param: str, pk: Any) -> Any | None:
    """Rows a criterion on `param` may match (redactable parts: only wholly visible rows)."""
    if ctx.privileged or res_type not in REDACTABLE or param in REDACTABLE[res_type]:
        return None
    scope = ctx.access if isinstance(ctx, ScopedContext) else None
    if scope is None:
        return compile_expr(current(), res_type, pk, FALSE)
    return decide.visibility(scope, res_type, pk, whole=True)


def sort_guard(ctx: RequestContext, res_type: str | None, codes: list[str]) -> Any | None:
    """Sorting on a redactable parameter keeps only rows the reader sees whole."""
    guards = [criterion_guard(ctx, res_type, c, ResourceRow.pk) for c in codes] if res_type else []
    found = [g for g in guards if g is not None]
    return and_(*found) if found else None


def include_guard(ctx: RequestContext, ref: Any) -> Any | None:
    """_include: links out of redactable parts are followed only from wholly visible rows."""
    if ctx.privileged:
        return None
    terms = []
    for res_type, params in REDACTABLE.items():
        # Built on a stable column (memoised per scope and actor), then tested for ref.res_pk.
        guard = criterion_guard(ctx, res_type, "#part", GUARD_PK)
        terms.append(or_(ref.res_type != res_type, ref.param.in_(sorted(params)),
                         guarded(ref.res_pk, guard) if guard is not None else true()))
    return and_(*terms)


def history_clause(ctx: RequestContext, res_type: str | None, type_col: Any, pk: Any) -> Any | None:
    """Can-see for history: versions of resources the actor may currently see."""
    # Deleted resources have no index rows: their versions are shown to privileged actors only.
    if ctx.privileged:
        return None
    policy = current()
    governed = sorted(set(policy.compartment) | policy.hidden_types)
    types = [res_type] if res_type else governed
    terms: list[Any] = []
    for t in types:
        clause = visible_clause(ctx, t, pk) if t in governed else None
        if clause is not None:
            terms.append(and_(type_col == t, clause))
    if res_type is None:
        terms.append(type_col.not_in(governed))
    elif res_type not in governed:
        return None
    return or_(false(), *terms)


def redact_row(ctx: RequestContext, res_type: str, content: bytes) -> bytes:
    """Will-see for a row the visibility clause admitted (CarePlans may be redacted)."""
    if ctx.privileged or not isinstance(ctx, ScopedContext) or ctx.access is None:
        return content if ctx.privileged else b""
    return decide.redact_visible(ctx.access, res_type, content)


async def will_see(session: AsyncSession, ctx: RequestContext, res_type: str,
                   content: bytes) -> bytes | None:
    """Will-see for one stored version: the bytes to serve (maybe redacted), or None if hidden."""
    if ctx.privileged:
        return content
    scope = await scope_for(session, ctx)
    resource = orjson.loads(content)
    seen = await decide.will_see(session, scope, res_type, resource)
    if seen is None:
        return None
    return content if seen is resource else orjson.dumps(seen)


async def may_see(session: AsyncSession, ctx: RequestContext, res_type: str,
                  content: bytes | None) -> bool:
    """True when the actor may see this version (a delete's marker: never shown as such)."""
    return content is not None and await will_see(session, ctx, res_type, content) is not None
