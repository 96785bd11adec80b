"""Decisions for single resources (will-see) and SQL visibility (can-see) from one scope."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import expr as E
from app.consent.facets import facets, owner
from app.consent.load import ensure, has_care
from app.consent.redact import redact_careplan
from app.consent.scope import AccessScope
from app.repository import access as repo


def governed(scope: AccessScope, res_type: str) -> bool:
    """True for types whose resources belong to a patient (or are hidden from everyone)."""
    return res_type in scope.policy.compartment or res_type in scope.policy.hidden_types


def visibility(scope: AccessScope, res_type: str, pk: Any, *, whole: bool = False) -> Any:
    """SQL: rows of `res_type` the scope may see (with `whole`: only those it sees unredacted)."""
    # Built once per scope state: a search asks again for every page, count and include.
    key = (res_type, pk, whole, scope.lookup, scope.complete, len(scope.consents),
           len(scope.care_known))
    hit = scope.clauses.get(key)
    if hit is None:
        hit = scope.clauses[key] = _visibility(scope, res_type, pk, whole)
    return hit


def _visibility(scope: AccessScope, res_type: str, pk: Any, whole: bool) -> Any:
    """SQL: rows of `res_type` the scope may see (uncached)."""
    # A rule that depends on sections never counts as whole: the reader may get a redacted view.
    policy = scope.policy
    if res_type not in policy.compartment:
        return repo.compile_expr(policy, res_type, pk, E.FALSE)
    groups: dict[E.Expr, list[str]] = {}
    for p in scope.loaded:
        full = scope.rule_expr(p, res_type, scope.care_known.get(p, False))
        e = E.header_only(full)
        if whole and E.has_sections(full):
            e = E.FALSE
        groups.setdefault(e, []).append(p)
    selfs = sorted(p for p in scope.self_patients if p not in scope.consents)
    self_expr = scope.rule_expr(selfs[0], res_type, False) if selfs else E.FALSE
    a = scope.actor
    # Patients naming the actor that were not loaded stay out of the default branch.
    named = None if scope.complete else (a.members, a.related, a.identifiers)
    return repo.visibility(
        policy, res_type, pk, [(e, ids) for e, ids in groups.items()],
        selfs if self_expr == E.TRUE else [],
        a.members if scope.care_expr(res_type) == E.TRUE else [],
        scope.emergency_expr(res_type), scope.loaded, named, scope.emergency_patients,
        scope.lookup if res_type == "Patient" and not whole else frozenset(),
        [p for p, found in scope.consents.items() if not found],
    )


async def rule_for(session: AsyncSession, scope: AccessScope, res_type: str,
                   resource: dict[str, Any]) -> E.Expr:
    """The full rule expression governing one resource (FALSE when it has no owner)."""
    patient = owner(scope.policy, res_type, resource)
    if patient is None or res_type not in scope.policy.compartment:
        return E.FALSE
    await ensure(session, scope, [patient])
    care = await has_care(session, scope, patient) if scope.care_eligible else False
    return scope.rule_expr(patient, res_type, care)


async def will_see(session: AsyncSession, scope: AccessScope, res_type: str,
                   resource: dict[str, Any]) -> dict[str, Any] | None:
    """The resource as the actor may see it (maybe redacted), or None when it is hidden."""
    if not governed(scope, res_type):
        return resource
    rule = await rule_for(session, scope, res_type, resource)
    if res_type == "CarePlan":
        return redact_careplan(scope.policy, rule, resource)
    header = facets(scope.policy, res_type, resource)
    return resource if E.evaluate(rule, header) else None


def redact_visible(scope: AccessScope, res_type: str, content: bytes) -> bytes:
    """Redact a row the SQL clause already admitted (no lookups: its rules are in the scope)."""
    if res_type != "CarePlan":
        return content
    plan = orjson.loads(content)
    patient = owner(scope.policy, res_type, plan)
    if patient is None or patient not in scope.consents:
        return content  # admitted by self, care or emergency (the clause knew it unnamed): whole
    rule = scope.rule_expr(patient, res_type, scope.care_known.get(patient, False))
    seen = redact_careplan(scope.policy, rule, plan)
    if seen is None:  # the clause and the rule disagree: never serve what the rule hides
        return b""
    return content if seen is plan else orjson.dumps(seen)
