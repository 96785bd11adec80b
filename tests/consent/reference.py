"""The reference decision: what the law and the patient's consents say, written plainly.

Deliberately separate from app/consent (no shared code): it reads the World model directly.
Returns None when the actor may not see the resource, else the section codes of a CarePlan's
activities the actor keeps (None section = an activity without a section code), or ALL.
"""

from __future__ import annotations

from tests.consent.world import SECTION_SYSTEM, Actor, ConsentM, Plan, World

HEALTH = {"kommune", "phv", "tsb", "fastlege", "legevakt"}
CARE_READ = {"Patient", "CarePlan", "Goal", "CareTeam", "RelatedPerson", "QuestionnaireResponse",
             "Consent"}
ALL = "ALL"


def _teams_of(w: World, a: Actor) -> set[str]:
    """Active teams the actor is a member of (practitioner, role, organisation, onBehalfOf)."""
    mine: set[tuple[str, str]] = set()
    if a.kind in ("health", "client", "staff"):
        if a.prac:
            mine.add(("Practitioner", a.prac.id))
            if a.prac.role and a.org and a.prac.org.id == a.org.id:
                mine.add(("PractitionerRole", a.prac.role))
        if a.org and a.org.service:
            mine |= {("Organization", a.org.id), ("onBehalfOf", a.org.id)}
    return {t.id for t in w.teams if t.status == "active" and mine & set(t.members)}


def _names(w: World, a: Actor, c: ConsentM) -> bool:
    """True when the consent's actor is this actor."""
    kind, ident = c.actor
    if kind == "service":
        return a.org is not None and a.org.service == ident
    if kind == "Practitioner":
        return a.prac is not None and a.prac.id == ident and a.kind in ("health", "client", "staff")
    if kind == "PractitionerRole":
        return (a.prac is not None and a.prac.role == ident and a.org is not None
                and a.prac.org.id == a.org.id)
    if kind == "Organization":
        return a.org is not None and a.org.service is not None and a.org.id == ident
    if kind == "CareTeam":
        return ident in _teams_of(w, a)
    if kind == "RelatedPerson":
        return ident in a.related
    return False


def _kind_of(res_type: str, res: Plan | None) -> str | None:
    return res.kind if res_type == "CarePlan" and res is not None else None


def _covers(c: ConsentM, res_type: str, plan: Plan | None) -> bool:
    """The consent speaks about this resource (type, plan type; sections are parts)."""
    if c.classes and res_type not in c.classes:
        return False
    if not (c.plan_types or c.sections):
        return True
    if res_type != "CarePlan" or plan is None:
        return False
    kinds = set(c.plan_types) or {k for k, s in SECTION_SYSTEM.items()
                                  for sys, _ in c.sections if sys == s}
    return plan.kind in kinds


def _care(w: World, a: Actor, patient: str) -> bool:
    if a.kind not in ("health", "client") or a.service not in HEALTH:
        return False
    gp = w.patients.get(patient)
    by_gp = gp is not None and a.prac is not None and gp == a.prac.id
    in_team = any(t.patient == patient for t in w.teams if t.id in _teams_of(w, a))
    return by_gp or in_team


def decide(w: World, a: Actor, res_type: str, res_id: str, patient: str | None,
           ) -> str | list[tuple[str, str] | None] | None:
    """None (hidden), ALL, or the kept activity sections of a CarePlan."""
    plan = next((p for p in w.plans if p.id == res_id), None) if res_type == "CarePlan" else None
    if patient is None or a.kind == "admin":
        return None
    if a.patient == patient:
        return ALL
    mine = [c for c in w.consents if c.patient == patient and c.active and _names(w, a, c)
            and _covers(c, res_type, plan)]
    if any(c.decision == "deny" and not c.sections for c in mine):
        return None
    denied = {s for c in mine if c.decision == "deny" for s in c.sections}
    whole = (_care(w, a, patient) and res_type in CARE_READ) or any(
        c.decision == "permit" and not c.sections for c in mine)
    emergency = (a.emergency and a.kind == "health" and a.service in HEALTH
                 and (res_type == "Patient" or _kind_of(res_type, plan) == "kriseplan"))
    parts = {s for c in mine if c.decision == "permit" for s in c.sections}
    if plan is None:
        return ALL if whole or emergency or parts else None
    acts: list[tuple[str, str] | None] = [*plan.sections, None]
    if whole or emergency:
        kept = [s for s in acts if s not in denied]
        return ALL if len(kept) == len(acts) else kept
    if parts:
        return [s for s in acts if s is not None and s in parts and s not in denied]
    return None
