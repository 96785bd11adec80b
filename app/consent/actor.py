"""Who the actor is, in the terms Consents and CareTeams use (references and identifiers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.cache import Entry
from app.consent.facets import ref_target
from app.consent.policy import Policy
from app.repository import access as repo
from app.security.actors import PERSON_SYSTEMS
from app.services.context import RequestContext

Ref = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Actor:
    """The actor's references: as a care-team member, as a Consent actor, and as a person."""

    kind: str
    members: tuple[Ref, ...]  # Practitioner, PractitionerRole and Organization the actor acts as
    related: tuple[Ref, ...]  # RelatedPersons the person is (next of kin)
    identifiers: tuple[tuple[str, str], ...]  # (system, value) an actor reference may carry

    @property
    def key(self) -> tuple[object, ...]:
        """What the Consents naming the actor depend on (a cache key)."""
        return (self.members, self.related, self.identifiers)

    def matches(self, reference: dict[str, Any], teams: frozenset[str] | set[str]) -> bool:
        """True when a provision.actor.reference names this actor (`teams`: its CareTeams)."""
        t, i = ref_target(reference)
        if t is not None and ((t, i) in self.members or (t, i) in self.related
                              or (t == "CareTeam" and i in teams)):
            return True
        ident = reference.get("identifier")
        if isinstance(ident, dict):
            return (ident.get("system"), ident.get("value")) in self.identifiers
        return False


def _identifiers(policy: Policy, ctx: RequestContext) -> tuple[tuple[str, str], ...]:
    """Identifiers that name the actor: service type, organisation number, HPR, pid."""
    codes = policy.codes
    out: list[tuple[str, str]] = []
    if ctx.service_type and ctx.org:
        out.append((codes["serviceTypeSystem"], ctx.service_type))
    out += [(codes["orgnrSystem"], o) for o in (ctx.org, ctx.org_parent) if o]
    if ctx.hpr:
        out.append((codes["hprSystem"], ctx.hpr))
    if ctx.pid and ctx.kind.value == "person":
        out += [(s, ctx.pid) for s in PERSON_SYSTEMS]
    return tuple(dict.fromkeys(out))


async def _members(session: AsyncSession, policy: Policy, ctx: RequestContext) -> list[Ref]:
    """The Practitioner(s) with the actor's HPR, their roles at the acting organisation, and it."""
    out: list[Ref] = []
    if ctx.hpr:
        prac = await repo.ids_with_token(session, "Practitioner", "identifier",
                                         policy.codes["hprSystem"], ctx.hpr)
        out += [("Practitioner", p) for p in prac]
        for role in await repo.roles_of(session, prac):
            t, i = ref_target(role.get("organization"))
            org_ok = t is None or (ctx.org_ref is not None and f"{t}/{i}" == ctx.org_ref)
            if org_ok and role.get("active") is not False and isinstance(role.get("id"), str):
                out.append(("PractitionerRole", role["id"]))
    if ctx.org_ref and "/" in ctx.org_ref:
        t, i = ctx.org_ref.split("/", 1)
        out.append((t, i))
    return out


async def resolve(session: AsyncSession, policy: Policy, ctx: RequestContext,
                  shared: Entry | None = None) -> Actor:
    """The actor's references (CareTeams are looked up only where a Consent names one)."""
    members: tuple[Ref, ...] = ()
    if ctx.kind.value in ("health", "client", "staff"):
        key = (ctx.kind.value, ctx.hpr, ctx.org_ref)
        if shared is not None and key in shared.members:
            members = shared.members[key]
        else:
            members = tuple(await _members(session, policy, ctx))
            if shared is not None:
                shared.put("members", key, members)
    related = tuple(tuple(r.split("/", 1)) for r in ctx.related_person_refs if "/" in r)
    return Actor(ctx.kind.value, members, related, _identifiers(policy, ctx))  # type: ignore[arg-type]
