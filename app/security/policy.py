"""The start-phase access policy, as data: which actor kinds reach which resource categories.

Patient-compartment data is governed by consent (a later phase); until then only health
personnel and system clients acting for a registered organisation, and admins, reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.fhir.errors import Forbidden
from app.security import scopes as S
from app.security.interactions import Interaction
from app.services.context import ActorKind, RequestContext

REGISTRY_TYPES = frozenset(
    {
        "Organization", "Practitioner", "PractitionerRole", "Questionnaire",
        "CapabilityStatement", "StructureDefinition", "ValueSet", "CodeSystem",
        "SearchParameter", "OperationDefinition", "CompartmentDefinition",
    }
)
AUDIT_TYPES = frozenset({"AuditEvent"})
# Interactions that carry no type of their own: their parts are checked one by one.
UNTYPED_PASS = frozenset({Interaction.CAPABILITIES, Interaction.TRANSACTION, Interaction.BATCH})

_ANY = frozenset(ActorKind)
SMART = "smart"  # the rule needs a SMART resource scope for the type and permission


@dataclass(frozen=True, slots=True)
class Rule:
    """Actors of `kinds` may use `perms` on `category` when they hold `scope`."""

    category: str  # registry | audit | clinical
    perms: str
    kinds: frozenset[ActorKind]
    scope: str | None = None  # SMART, a literal scope, or None (authentication suffices)
    needs_service_type: bool = False


RULES: tuple[Rule, ...] = (
    Rule("registry", "rs", _ANY),
    Rule("registry", "cud", _ANY, S.ADMIN_SCOPE),
    # A person reads their own access log; the audit service restricts it to their patients.
    Rule("audit", "rs", frozenset({ActorKind.PERSON})),
    Rule("audit", "rs", _ANY, S.AUDIT_SCOPE),
    Rule("clinical", "cruds", frozenset({ActorKind.HEALTH, ActorKind.CLIENT}), SMART, True),
    Rule("clinical", "cruds", frozenset({ActorKind.ADMIN}), SMART),
    # Patients, next of kin and NAV reach clinical types; the consent engine (app/consent)
    # decides per resource what they see and may write (their own Consents only).
    Rule("clinical", "cruds", frozenset({ActorKind.PERSON}), SMART),
    Rule("clinical", "cruds", frozenset({ActorKind.STAFF}), SMART, True),
)


def category(res_type: str | None) -> str:
    """The policy category of a resource type (None: a system-wide interaction)."""
    if res_type in REGISTRY_TYPES:
        return "registry"
    if res_type in AUDIT_TYPES:
        return "audit"
    return "clinical"


def _satisfied(rule: Rule, ctx: RequestContext, res_type: str | None, perm: str) -> bool:
    """True when the actor meets every condition of the rule."""
    if ctx.kind not in rule.kinds or (rule.needs_service_type and not ctx.service_type):
        return False
    if rule.scope == SMART:
        return S.allows(ctx.scopes, res_type, perm)
    return rule.scope is None or ctx.has_scope(rule.scope)


def check(ctx: RequestContext, interaction: Interaction, res_type: str | None) -> None:
    """Raise Forbidden unless some rule lets this actor perform the interaction."""
    if ctx.privileged or interaction in UNTYPED_PASS:
        return
    perm = S.PERMISSION.get(interaction)
    cat = category(res_type)
    if perm is not None:
        for rule in RULES:
            if rule.category != cat or perm not in rule.perms:
                continue
            if _satisfied(rule, ctx, res_type, perm):
                return
    what = res_type or "all types"
    raise Forbidden(f"The access token does not allow '{interaction.value}' on {what}.")
