"""Write decisions: a care relationship, the patient's own Consents, or joining a patient's care.

A refused write answers 403 when the actor may see the resource, 404 when it may not (so a
refusal never reveals that a hidden resource exists).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import decide
from app.consent import expr as E
from app.consent.facets import facets, owner, ref_target
from app.consent.hooks import SCOPE_TYPES, forget, may_see, scope_for
from app.consent.policy import current
from app.consent.scope import AccessScope, eligible
from app.db.tables import ResourceRow
from app.fhir.errors import Forbidden, NotFound, Unprocessable
from app.repository import access as repo
from app.services.context import RequestContext

ESTABLISHED = "care-relationship-established"


async def last_content(session: AsyncSession, row: ResourceRow | None) -> bytes | None:
    """The newest stored content of a resource (a deleted one's last live version)."""
    if row is None:
        return None
    if row.content is not None:
        return row.content
    found = await repo.version_contents(session, row.pk)
    return found[0] if found else None


async def _writable(session: AsyncSession, scope: AccessScope, res_type: str,
                    resource: dict[str, Any], pending: set[str]) -> bool:
    """True when the write scope grants the whole resource."""
    patient = owner(scope.policy, res_type, resource)
    if patient in pending and scope.care_eligible:
        rule = scope.rule_expr(patient, res_type, True)  # joined earlier in this transaction
    else:
        rule = await decide.rule_for(session, scope, res_type, resource)
    return E.evaluate(rule, facets(scope.policy, res_type, resource, E.WHOLE))


def _includes_actor(scope: AccessScope, team: dict[str, Any]) -> bool:
    """True when the CareTeam has the actor (practitioner, role or organisation) as a member."""
    return team.get("status") in _statuses(scope) and any(
        p in scope.actor.members for p in _participants(team))


def _statuses(scope: AccessScope) -> list[str]:
    """CareTeam statuses that make a care relationship."""
    rule = scope.policy.rule("care")
    return list(rule.raw.get("careTeamStatus", ())) if rule else []


def _participants(team: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """(type, id) of every member and onBehalfOf of a CareTeam."""
    out = []
    for p in team.get("participant") or ():
        if isinstance(p, dict):
            out += [ref_target(p.get(k)) for k in ("member", "onBehalfOf") if p.get(k)]
    return out


def _joins(scope: AccessScope, ctx: RequestContext, res_type: str, new: dict[str, Any]) -> bool:
    """A service starting to treat the patient: a Patient, or a CareTeam of only itself."""
    if not eligible(scope.policy.rule("register"), ctx):
        return False
    if res_type == "Patient":
        return True
    patient = owner(scope.policy, res_type, new)
    parts = _participants(new)
    if res_type != "CareTeam" or patient is None or not parts:
        return False
    if any(p not in scope.actor.members for p in parts):
        return False  # a non-member may add only itself
    # An objection naming the actor blocks joining as it blocks reading.
    return all(E.header_only(scope.consent_exprs(patient, t)[1]) == E.FALSE
               for t in ("CareTeam", "Patient"))


def _check_shape(res_type: str, new: dict[str, Any] | None, max_depth: int) -> None:
    """Consents nested deeper than the engine indexes would hide actors: refuse them."""
    if res_type != "Consent" or new is None:
        return
    depth, level = 0, [new.get("provision")]
    while any(isinstance(p, dict) for p in level):
        depth += 1
        level = [k for p in level if isinstance(p, dict) for k in p.get("provision") or ()]
    if depth > max_depth:
        raise Unprocessable(f"Consent provisions may be nested at most {max_depth} levels deep.",
                            expression="Consent.provision")


async def check_write(session: AsyncSession, ctx: RequestContext, res_type: str,
                      new: dict[str, Any] | None, row: ResourceRow | None,
                      pending: set[str] | None = None, put: bool = False) -> str | None:
    """Raise unless the actor may write; returns ESTABLISHED when the write joins a patient."""
    # `pending` carries, through one transaction's creates, the patients whose care the actor
    # joins by a CareTeam written earlier in the same transaction.
    pending = set() if pending is None else pending
    policy = current()
    if ctx.privileged or (res_type not in policy.compartment
                          and res_type not in policy.hidden_types):
        return None
    _check_shape(res_type, new, int(policy.consent.get("maxDepth", 4)))
    old_bytes = await last_content(session, row)
    old = orjson.loads(old_bytes) if old_bytes else None
    scope = await scope_for(session, ctx, "write", [p for p in (
        owner(policy, res_type, r) for r in (old, new) if r is not None) if p is not None])
    ok = res_type in policy.compartment
    for res in (old, new):
        if ok and res is not None:
            ok = await _writable(session, scope, res_type, res, pending)
    joined = not ok and old is None and new is not None and _joins(scope, ctx, res_type, new)
    if not ok and not joined:
        # 404 also for a refused PUT to an unused id, so ids never tell hidden from absent.
        if (put and old_bytes is None) or (
                old_bytes is not None and not await may_see(session, ctx, res_type, old_bytes)):
            raise NotFound(f"{res_type}/{row.res_id if row else (new or {}).get('id', '')} is not known.")
        raise Forbidden(f"You may not write this {res_type}: it needs a care relationship with "
                        "the patient, or must be the patient's own consent.")
    if res_type in SCOPE_TYPES:
        forget(session)
    if res_type == "CareTeam" and new is not None and _includes_actor(scope, new):
        patient = owner(policy, res_type, new)
        if patient is not None:
            pending.add(patient)
    return ESTABLISHED if joined and res_type == "CareTeam" else None
