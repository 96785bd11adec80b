"""The AccessScope: everything one request's actor may see, loaded lazily per patient.

The scope holds (a) the actor's own patients, (b) the care-relationship patients as an SQL
semi-join (never materialised: an organisation may follow thousands), (c) for the *loaded*
patients, the Consents naming the actor (their permit and deny expressions per type), and
(d) the emergency grant. `rule_expr` turns these into one expression per (patient, type).
A read loads only the owning patient (app.consent.load); a search restricted to patients loads
those; other searches load every patient naming the actor (`complete`). A patient that is
neither loaded nor known to be unnamed is denied everything (fail closed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.consent import expr as E
from app.consent.actor import Actor
from app.consent.cache import Entry
from app.consent.policy import Policy, Rule
from app.consent.provisions import RequestFacts, evaluate_consent
from app.services.context import RequestContext


@dataclass
class AccessScope:
    """One actor's view of the patient compartment for one request (and action)."""

    policy: Policy
    actor: Actor
    action: str
    purpose: str | None
    now: dt.datetime
    self_patients: frozenset[str]
    care_eligible: bool
    emergency: bool
    consents: dict[str, list[dict[str, Any]]]  # loaded patient id -> Consents naming the actor
    care_known: dict[str, bool]  # patient id -> care relationship (filled lazily)
    complete: bool = False  # every patient with a Consent naming the actor is loaded
    teams: set[str] = field(default_factory=set)  # CareTeams (named by loaded Consents) joined
    teams_checked: set[str] = field(default_factory=set)  # CareTeam ids looked up so far
    shared: Entry | None = None  # the cross-request cache entry of this request's generation
    lookup: frozenset[tuple[str, str]] = frozenset()  # Patient identifiers searched to join care
    # Emergency access limited to the patients the trust framework names (None: not limited).
    emergency_patients: frozenset[str] | None = None
    _exprs: dict[tuple[str, str], tuple[E.Expr, E.Expr]] = field(default_factory=dict)
    clauses: dict[Any, Any] = field(default_factory=dict)  # visibility SQL by type and state

    @property
    def loaded(self) -> list[str]:
        """Patients whose Consents naming the actor are loaded (their rules are known)."""
        return sorted(self.consents)

    def known(self, patient: str) -> bool:
        """True when the patient's Consents naming the actor are known."""
        return self.complete or patient in self.consents

    def matches(self, reference: dict[str, Any]) -> bool:
        """True when a provision.actor.reference names this actor."""
        return self.actor.matches(reference, self.teams)

    def consent_exprs(self, patient: str, res_type: str) -> tuple[E.Expr, E.Expr]:
        """(permit, deny) of all the patient's Consents naming the actor, for one type."""
        if not self.known(patient):
            return E.FALSE, E.TRUE  # never loaded: fail closed
        key = (patient, res_type)
        if key not in self._exprs:
            req = RequestFacts(self.matches, self.action, self.purpose, self.now)
            pairs = [evaluate_consent(c, self.policy, req, res_type)
                     for c in self.consents.get(patient, ())]
            self._exprs[key] = (E.or_(*(p for p, _ in pairs)), E.or_(*(d for _, d in pairs)))
        return self._exprs[key]

    def emergency_expr(self, res_type: str) -> E.Expr:
        """What the emergency grant lets the actor read of any patient."""
        rule = self.policy.rule("emergency")
        if not self.emergency or rule is None or self.action != "read":
            return E.FALSE
        if rule.reads(res_type):
            return E.TRUE
        kinds = frozenset(rule.raw.get("planTypes", ()))
        return E.Kind(kinds) if res_type == "CarePlan" and kinds else E.FALSE

    def care_expr(self, res_type: str) -> E.Expr:
        """What a care relationship grants for this type and action."""
        rule = self.policy.rule("care")
        if not self.care_eligible or rule is None:
            return E.FALSE
        granted = rule.reads(res_type) if self.action == "read" else rule.writes(res_type)
        return E.TRUE if granted else E.FALSE

    def rule_expr(self, patient: str, res_type: str, care: bool) -> E.Expr:
        """The whole decision for one patient's resources of one type (all parts)."""
        if patient in self.self_patients and _grants(self.policy.rule("self"), res_type,
                                                     self.action):
            return E.TRUE
        permit, deny = self.consent_exprs(patient, res_type)
        if self.policy.rule("consent-deny") is None:
            deny = E.FALSE
        rule = self.policy.rule("consent-permit")
        if rule is None or self.actor.kind not in rule.actor_kinds or (
                self.action == "write" and not rule.writes(res_type)):
            permit = E.FALSE  # a permit Consent shares for reading; writes need care
        emergency = self.emergency_expr(res_type)
        if self.emergency_patients is not None and patient not in self.emergency_patients:
            emergency = E.FALSE
        override = bool((self.policy.rule("emergency") or _NO_RULE).raw.get("overridesObjection"))
        care_grant = self.care_expr(res_type) if care else E.FALSE
        return E.or_(E.and_(E.or_(care_grant, permit), E.not_(deny)),
                     E.and_(emergency, E.TRUE if override else E.not_(deny)))


_NO_RULE = Rule("none", "deny", "", "", frozenset(), frozenset(), frozenset(), frozenset(), {})


def _grants(rule: Rule | None, res_type: str, action: str) -> bool:
    """True when a rule grants the action on the type."""
    if rule is None:
        return False
    return rule.reads(res_type) if action == "read" else rule.writes(res_type)


def eligible(rule: Rule | None, ctx: RequestContext) -> bool:
    """True when the actor's kind and service type satisfy a rule."""
    if rule is None or ctx.kind.value not in rule.actor_kinds:
        return False
    return not rule.service_types or ctx.service_type in rule.service_types


def emergency_purpose(policy: Policy, ctx: RequestContext) -> str | None:
    """The emergency purpose of use the request may claim, or None."""
    rule = policy.rule("emergency")
    if not eligible(rule, ctx) or rule is None:
        return None
    if rule.raw.get("requireReason", True) and not ctx.break_glass_reason:
        return None
    purposes = set(rule.raw.get("purposes", ()))
    if ctx.purpose_of_use in purposes:
        return ctx.purpose_of_use
    scope = rule.raw.get("breakGlassScope")
    if scope and ctx.has_scope(scope):
        return str(rule.raw.get("breakGlassPurpose", "BTG"))
    return None
