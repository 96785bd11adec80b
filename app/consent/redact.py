"""Will-see for CarePlans: keep only the activities (sections/domains) the actor may see.

A redacted plan carries meta.security REDACTED (v3-ObservationValue) and a regenerated
narrative, since the stored narrative describes the whole plan.
"""

from __future__ import annotations

import copy
from typing import Any

from app.consent import expr as E
from app.consent.facets import activity_part, facets
from app.consent.policy import Policy
from app.forms.narrative import render_careplan_narrative

REDACTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "REDACTED", "display": "redacted"}
# What a reader who may see only some sections gets besides those sections: the plan's frame.
HEADER_FIELDS = frozenset({"resourceType", "id", "meta", "language", "identifier", "status",
                           "intent", "category", "title", "subject", "period", "created",
                           "author"})
# Search parameters over those header fields: the only ones that may match a redacted row.
REDACTABLE: dict[str, frozenset[str]] = {"CarePlan": frozenset({
    "_id", "_lastUpdated", "_security", "_tag", "_profile", "identifier", "status", "intent",
    "category", "subject", "patient", "date"})}


def redact_careplan(policy: Policy, rule: E.Expr, plan: dict[str, Any]) -> dict[str, Any] | None:
    """The plan as this rule lets the actor see it; None when nothing is visible."""
    if not E.evaluate(rule, facets(policy, "CarePlan", plan, E.HEADER)):
        return None
    whole = E.evaluate(rule, facets(policy, "CarePlan", plan, E.WHOLE))
    activities = [a for a in plan.get("activity") or () if isinstance(a, dict)]
    kept = [a for a in activities
            if E.evaluate(rule, facets(policy, "CarePlan", plan, activity_part(policy, a)))]
    if whole and len(kept) == len(plan.get("activity") or ()):
        return plan
    out = copy.deepcopy(plan) if whole else {k: copy.deepcopy(v) for k, v in plan.items()
                                             if k in HEADER_FIELDS}
    out.pop("activity", None)
    if kept:
        out["activity"] = copy.deepcopy(kept)
    meta = out.setdefault("meta", {})
    meta["security"] = [*(meta.get("security") or []), REDACTED]
    out.pop("text", None)
    out["text"] = render_careplan_narrative(out, redacted=True)
    return out
