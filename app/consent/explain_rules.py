"""$access: the explanation itself, per resource type and per CarePlan of the patient."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import expr as E
from app.consent.load import has_care
from app.consent.policy import Policy
from app.consent.provisions import RequestFacts, evaluate_consent
from app.consent.redact import redact_careplan
from app.consent.scope import AccessScope


def _consents(scope: AccessScope, patient: str, res_type: str) -> tuple[list[str], list[str]]:
    """ids of the patient's Consents that permit, and that deny, something of the type."""
    req = RequestFacts(scope.matches, scope.action, scope.purpose, scope.now)
    permits, denies = [], []
    for c in scope.consents.get(patient, ()):
        p, d = evaluate_consent(c, scope.policy, req, res_type)
        if p != E.FALSE:
            permits.append(f"Consent/{c.get('id')}")
        if d != E.FALSE:
            denies.append(f"Consent/{c.get('id')}")
    return permits, denies


def _decision(rule: E.Expr) -> str:
    """permit, deny or conditional (depends on plan type, section or resource)."""
    if rule == E.TRUE:
        return "permit"
    return "deny" if rule == E.FALSE else "conditional"


def _rule_ids(policy: Policy, scope: AccessScope, patient: str, res_type: str, care: bool,
              denies: list[str], permits: list[str]) -> list[str]:
    """The policy rules that take part in the decision."""
    out = []
    if patient in scope.self_patients:
        out.append("self")
    if denies:
        out.append("objection")
    if care and scope.care_expr(res_type) == E.TRUE:
        out.append("care-relationship")
    if permits:
        out.append("consent-permit")
    if scope.emergency_expr(res_type) != E.FALSE:
        out.append("emergency")
    return [r.id for kind in out for r in policy.rules if r.kind == _KIND[kind]] or [
        r.id for r in policy.rules if r.kind == "deny"]


_KIND = {"self": "self", "objection": "consent-deny", "care-relationship": "care",
         "consent-permit": "consent-permit", "emergency": "emergency"}


async def explain_types(session: AsyncSession, scope: AccessScope, patient: str,
                        types: tuple[str, ...]) -> list[dict[str, Any]]:
    """One Parameters part per resource type."""
    care = await has_care(session, scope, patient)
    out = []
    for t in types:
        rule = E.header_only(scope.rule_expr(patient, t, care))
        permits, denies = _consents(scope, patient, t)
        part: list[dict[str, Any]] = [{"name": "type", "valueCode": t},
                                      {"name": "decision", "valueCode": _decision(rule)}]
        for rid in _rule_ids(scope.policy, scope, patient, t, care, denies, permits):
            r = next(x for x in scope.policy.rules if x.id == rid)
            part.append({"name": "rule", "valueString": f"{r.id}: {r.description} ({r.basis})"})
        part += [{"name": "permittedBy", "valueReference": {"reference": c}} for c in permits]
        part += [{"name": "deniedBy", "valueReference": {"reference": c}} for c in denies]
        out.append({"name": "access", "part": part})
    return out


async def explain_plans(session: AsyncSession, scope: AccessScope, patient: str,
                        plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One part per CarePlan: hidden, whole, or the sections the actor keeps."""
    care = await has_care(session, scope, patient)
    rule = scope.rule_expr(patient, "CarePlan", care)
    out = []
    for plan in plans:
        seen = redact_careplan(scope.policy, rule, plan)
        view = "hidden" if seen is None else "whole" if seen is plan else "redacted"
        part: list[dict[str, Any]] = [
            {"name": "plan", "valueReference": {"reference": f"CarePlan/{plan.get('id')}"}},
            {"name": "view", "valueCode": view}]
        for a in (seen or {}).get("activity", []) if view == "redacted" else ():
            for c in ((a.get("detail") or {}).get("code") or {}).get("coding") or ():
                part.append({"name": "section", "valueCoding": c})
        out.append({"name": "careplan", "part": part})
    return out
