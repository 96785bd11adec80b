"""$access: which rule or Consent grants or denies each resource type to one actor.

The hypothetical actor is built from registry resources the way authentication would build it
from a token, then the same AccessScope and rules as every request are evaluated.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.explain_rules import explain_plans, explain_types
from app.consent.facets import ref_target
from app.consent.load import build
from app.consent.policy import Policy, current
from app.fhir.errors import BadRequest, Forbidden, NotFound
from app.repository.access import careplans_of
from app.repository.resources import ResourceRepository
from app.security.actors import PERSON_SYSTEMS, service_type_of
from app.services.context import SYSTEM, ActorKind, RequestContext

TYPES = ("Patient", "CarePlan", "Goal", "CareTeam", "RelatedPerson", "QuestionnaireResponse",
         "Consent")


async def _get(session: AsyncSession, ref: str | None) -> dict[str, Any] | None:
    """A current resource by 'Type/id' (registry lookups run as SYSTEM)."""
    t, i = ref_target({"reference": ref}) if ref else (None, None)
    if t is None or i is None:
        return None
    row = await ResourceRepository(session, SYSTEM).get_current(t, i)
    return orjson.loads(row.content) if row is not None and row.content else None


def _ident(res: dict[str, Any] | None, systems: tuple[str, ...]) -> str | None:
    """The first identifier value in one of `systems`."""
    for i in (res or {}).get("identifier") or ():
        if isinstance(i, dict) and i.get("system") in systems and isinstance(i.get("value"), str):
            return str(i["value"])
    return None


async def actor_context(session: AsyncSession, policy: Policy, actor: str,
                        org_ref: str | None, purpose: str | None) -> RequestContext:
    """The context a token of this actor would give (400 when the actor is unknown)."""
    res = await _get(session, actor)
    if res is None:
        raise BadRequest(f"$access: actor '{actor[:80]}' is not a known resource.", expression="actor")
    kind = res["resourceType"]
    if kind == "PractitionerRole":
        org_ref = org_ref or (res.get("organization") or {}).get("reference")
        res = await _get(session, (res.get("practitioner") or {}).get("reference")) or {}
    org = await _get(session, org_ref) if kind != "Organization" else res
    service = service_type_of(org) if org else None
    orgnr = _ident(org, (policy.codes["orgnrSystem"],))
    org_id = f"Organization/{org['id']}" if org and service else None
    if kind == "RelatedPerson":
        return RequestContext(kind=ActorKind.PERSON, request_id="$access",
                              pid=_ident(res, PERSON_SYSTEMS),
                              related_person_refs=(f"RelatedPerson/{res['id']}",))
    if kind == "Organization":
        return RequestContext(kind=ActorKind.STAFF if service == "nav" else ActorKind.CLIENT,
                              request_id="$access", org=orgnr, org_ref=org_id, service_type=service)
    if kind in ("Practitioner", "PractitionerRole"):
        return RequestContext(kind=ActorKind.HEALTH, request_id="$access", org=orgnr,
                              hpr=_ident(res, (policy.codes["hprSystem"],)), org_ref=org_id,
                              service_type=service, purpose_of_use=purpose,
                              break_glass_reason="$access" if purpose else None)
    raise BadRequest("$access: actor must be a Practitioner, PractitionerRole, Organization or "
                     "RelatedPerson.", expression="actor")


def _param(params: list[tuple[str, str]], name: str) -> str | None:
    """The single value of a parameter."""
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise BadRequest(f"$access: '{name}' may be given once.", expression=name)
    return values[0] if values else None


def _allowed(ctx: RequestContext, patient: str) -> bool:
    """Only admins and the patient may see who can see what."""
    if ctx.privileged:
        return True
    if ctx.kind is ActorKind.ADMIN and ctx.has_scope("fellesplan/admin"):
        return True
    return ctx.kind is ActorKind.PERSON and f"Patient/{patient}" in ctx.patient_refs


async def explain(session: AsyncSession, ctx: RequestContext, patient: str,
                  params: list[tuple[str, str]]) -> dict[str, Any]:
    """The $access Parameters for one patient and one actor."""
    if not _allowed(ctx, patient):
        raise Forbidden("$access is for administrators and the patient.")
    if await _get(session, f"Patient/{patient}") is None:
        raise NotFound(f"Patient/{patient} is not known.")
    actor = _param(params, "actor")
    if not actor:
        raise BadRequest("$access needs the parameter 'actor' (e.g. Organization/nav).",
                         expression="actor")
    policy = current()
    actor_ctx = await actor_context(session, policy, actor, _param(params, "organization"),
                                    _param(params, "purpose"))
    scope = await build(session, policy, actor_ctx, patients=[patient])
    parts: list[dict[str, Any]] = [
        {"name": "actor", "valueReference": {"reference": actor}},
        {"name": "policy", "valueString": f"{policy.id} {policy.version}"}]
    parts += await explain_types(session, scope, patient, TYPES)
    parts += await explain_plans(session, scope, patient, await careplans_of(session, patient))
    return {"resourceType": "Parameters", "parameter": parts}
