"""Evaluate an R4 Consent's (nested) provisions for one request and one resource type.

https://hl7.org/fhir/R4/consent.html: a provision applies when all its conditions match; nested
provisions are exceptions to their parent (the deepest matching decision wins; among siblings a
deny wins). Conditions about the request (period, actor, action, purpose) are decided here; those
about the resource (class, code, data, securityLabel) become an `Expr` so the same result can be
tested per row in SQL and per resource in Python.

Fail-closed: what the engine does not understand (an unknown code system, a class that is not a
resource type, data with a meaning other than `instance`) never widens a permit and always widens
a deny. Each node therefore yields (permit, deny) where `permit` is the narrow reading and `deny`
the broad one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.consent.expr import FALSE, TRUE, Expr, Ids, Kind, Label, Section, and_, not_, or_
from app.consent.facets import ref_target
from app.consent.policy import Policy
from app.fhir.dates import parse_range
from app.fhir.errors import BadRequest

MAX_NESTING = 32  # recursion guard; writes are limited to policy consent.maxDepth


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a provision may test about the request."""

    matches_actor: Callable[[dict[str, Any]], bool]  # provision.actor.reference -> matches?
    action: str  # read | write
    purpose: str | None
    now: dt.datetime


def in_period(period: Any, now: dt.datetime) -> bool:
    """True when `now` lies in the Period (open ends allowed; malformed means not in force)."""
    if not isinstance(period, dict):
        return True
    try:
        if isinstance(period.get("start"), str) and now < parse_range(period["start"], "start")[0]:
            return False
        if isinstance(period.get("end"), str) and now >= parse_range(period["end"], "end")[1]:
            return False
    except BadRequest:
        return False
    return True


def _codings(items: Any) -> list[dict[str, Any]]:
    """Codings of a list of CodeableConcepts."""
    return [c for cc in items or () if isinstance(cc, dict)
            for c in cc.get("coding") or () if isinstance(c, dict)]


def _request_matches(node: dict[str, Any], policy: Policy, req: RequestFacts) -> bool:
    """period, actor, action and purpose of one provision node against the request."""
    if not in_period(node.get("period"), req.now):
        return False
    actors = [a for a in node.get("actor") or () if isinstance(a, dict)]
    if actors and not any(req.matches_actor(a.get("reference") or {}) for a in actors):
        return False
    actions = {c.get("code") for c in _codings(node.get("action"))}
    if actions and not actions & set(policy.consent["actions"].get(req.action, ())):
        return False
    purposes = {c.get("code") for c in node.get("purpose") or () if isinstance(c, dict)}
    if purposes and req.purpose is None:
        return bool(policy.consent.get("purposeWhenAbsent", "ignore") == "ignore")
    return not purposes or req.purpose in purposes


def _class(node: dict[str, Any], policy: Policy, res_type: str, broad: bool) -> Expr:
    """provision.class: resource types (other class systems are unknown: fail closed)."""
    classes = [c for c in node.get("class") or () if isinstance(c, dict)]
    if not classes:
        return TRUE
    types_system = policy.codes["resourceTypes"]
    return or_(*(
        TRUE if c.get("system") in (None, types_system) and c.get("code") == res_type
        else TRUE if broad and c.get("system") not in (None, types_system) else FALSE
        for c in classes
    ))


def _code(node: dict[str, Any], policy: Policy, res_type: str, broad: bool) -> Expr:
    """provision.code: plan types (rows) and sections/domains (CarePlan parts)."""
    codings = _codings(node.get("code"))
    if not codings:
        return TRUE
    kinds = {policy.kind_of(c.get("system"), c.get("code")) for c in codings} - {None}
    sections = {(str(c["system"]), str(c.get("code", ""))) for c in codings
                if c.get("system") in policy.section_systems}
    known = len(sections) + sum(1 for c in codings if policy.kind_of(c.get("system"), c.get("code")))
    if known < len(codings):  # codes the engine cannot test
        return TRUE if broad else FALSE
    if res_type != "CarePlan":
        return FALSE
    kinds = kinds or {policy.section_systems[s] for s, _ in sections}
    header = node.get("type") != "deny"
    section = Section(frozenset(sections), header) if sections else TRUE
    return and_(Kind(frozenset(k for k in kinds if k)), section)


def _data(node: dict[str, Any], res_type: str, broad: bool) -> Expr:
    """provision.data: specific resources (meaning instance); other meanings fail closed."""
    items = [d for d in node.get("data") or () if isinstance(d, dict)]
    if not items:
        return TRUE
    terms: list[Expr] = []
    for d in items:
        t, i = ref_target(d.get("reference"))
        if d.get("meaning") == "instance" and t is not None and i is not None:
            terms.append(Ids(frozenset({i})) if t == res_type else FALSE)
        else:
            terms.append(TRUE if broad else FALSE)
    return or_(*terms)


def _label(node: dict[str, Any]) -> Expr:
    """provision.securityLabel: the resource carries one of the labels."""
    labels = [s for s in node.get("securityLabel") or () if isinstance(s, dict)]
    if not labels:
        return TRUE
    return Label(frozenset((str(s.get("system", "")), str(s.get("code", ""))) for s in labels))


def _conditions(node: dict[str, Any], policy: Policy, res_type: str, broad: bool) -> Expr:
    """The resource-side conditions of a node, read narrowly or broadly."""
    return and_(_class(node, policy, res_type, broad), _code(node, policy, res_type, broad),
                _data(node, res_type, broad), _label(node))


def evaluate_node(
    node: dict[str, Any], policy: Policy, req: RequestFacts, res_type: str, named: bool, depth: int
) -> tuple[Expr, Expr]:
    """(permit, deny) expressions of one provision and its exceptions."""
    if depth > MAX_NESTING or not _request_matches(node, policy, req):
        return FALSE, FALSE
    named = named or bool(node.get("actor"))
    kind = node.get("type") if named or not policy.consent.get("requireNamedActor", True) else None
    kids = [evaluate_node(k, policy, req, res_type, named, depth + 1)
            for k in node.get("provision") or () if isinstance(k, dict)]
    deny_kids = or_(*(d for _, d in kids))
    permit_kids = or_(*(p for p, _ in kids))
    narrow = _conditions(node, policy, res_type, False)
    broad = _conditions(node, policy, res_type, True)
    if kind == "permit":
        return and_(narrow, not_(deny_kids)), and_(broad, deny_kids)
    if kind == "deny":
        return (and_(narrow, not_(deny_kids), permit_kids),
                and_(broad, or_(deny_kids, not_(permit_kids))))
    return and_(narrow, not_(deny_kids), permit_kids), and_(broad, deny_kids)


def evaluate_consent(
    consent: dict[str, Any], policy: Policy, req: RequestFacts, res_type: str
) -> tuple[Expr, Expr]:
    """(permit, deny) of one Consent for the request and type; inactive consents decide nothing."""
    root = consent.get("provision")
    if consent.get("status") != "active" or not isinstance(root, dict):
        return FALSE, FALSE
    return evaluate_node(root, policy, req, res_type, False, 0)
