"""Facts about resources the rules test: owner patient, plan kind, labels, CarePlan parts."""

from __future__ import annotations

from typing import Any

from app.consent.expr import HEADER, UNSECTIONED, WHOLE, Facets
from app.consent.policy import Policy
from app.search.refs import parse_reference


def ref_target(ref: Any) -> tuple[str | None, str | None]:
    """(type, id) of a literal local Reference, else (None, None)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None, None
    t, i, _ = parse_reference(ref["reference"])
    return t, i


def owner(policy: Policy, res_type: str, resource: dict[str, Any]) -> str | None:
    """The id of the Patient whose compartment owns the resource (None: nobody's)."""
    spec = policy.compartment.get(res_type)
    if spec is None:
        return None
    if spec[0] == "_self":
        rid = resource.get("id")
        return rid if isinstance(rid, str) else None
    t, i = ref_target(resource.get(spec[1] or ""))
    return i if t == "Patient" else None


def plan_kind(policy: Policy, resource: dict[str, Any]) -> str:
    """kriseplan, individuell-plan (per the policy's codings) or plan."""
    found = {
        policy.kind_of(c.get("system"), c.get("code"))
        for cat in resource.get("category") or () if isinstance(cat, dict)
        for c in cat.get("coding") or () if isinstance(c, dict)
    }
    for kind in policy.plan_types:  # file order decides when a plan claims two kinds
        if kind in found:
            return kind
    return "plan"


def labels(resource: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """meta.security codings as (system, code)."""
    meta = resource.get("meta") or {}
    return frozenset(
        (str(s.get("system", "")), str(s.get("code", "")))
        for s in meta.get("security") or () if isinstance(s, dict)
    )


def facets(policy: Policy, res_type: str, resource: dict[str, Any], part: Any = HEADER) -> Facets:
    """The facets of a resource (or one CarePlan part)."""
    kind = plan_kind(policy, resource) if res_type == "CarePlan" else None
    return Facets(str(resource.get("id", "")), kind, labels(resource), part)


def activity_part(policy: Policy, activity: Any) -> str | tuple[str, str]:
    """The section/domain code of a CarePlan activity (its detail.code), or UNSECTIONED."""
    detail = activity.get("detail") if isinstance(activity, dict) else None
    code = detail.get("code") if isinstance(detail, dict) else None
    for c in (code or {}).get("coding") or () if isinstance(code, dict) else ():
        if isinstance(c, dict) and c.get("system") in policy.section_systems:
            return (str(c["system"]), str(c.get("code", "")))
    return UNSECTIONED


__all__ = ["HEADER", "WHOLE", "activity_part", "facets", "labels", "owner", "plan_kind",
           "ref_target"]
