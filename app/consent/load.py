"""Filling an AccessScope: the actor, and per patient the Consents naming it and the care relationship.

Reads load one patient (the owner of what is read); searches restricted to patients load those;
other searches load every patient whose Consents name the actor. Stable facts come from the
cross-request cache (app.consent.cache) when the request's generation matches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import cache
from app.consent.actor import resolve
from app.consent.facets import owner, ref_target
from app.consent.policy import Policy
from app.consent.scope import _NO_RULE, AccessScope, eligible, emergency_purpose
from app.fhir.dates import utcnow
from app.repository import access as repo
from app.security.actors import PERSON_SYSTEMS
from app.services.context import RequestContext


async def build(session: AsyncSession, policy: Policy, ctx: RequestContext, action: str = "read",
                patients: Sequence[str] | None = ()) -> AccessScope:
    """The actor's scope; `patients` are loaded now (None: every patient naming the actor)."""
    shared = await cache.entry(session, policy)
    actor = await resolve(session, policy, ctx, shared)
    purpose = emergency_purpose(policy, ctx)
    scope = AccessScope(
        policy, actor, action, purpose or ctx.purpose_of_use, utcnow(),
        frozenset(r.split("/", 1)[1] for r in ctx.patient_refs if r.startswith("Patient/")),
        eligible(policy.rule("care"), ctx) and bool(actor.members), purpose is not None,
        {}, {}, shared=shared,
    )
    # An actor nothing can name has no Consents anywhere: every patient is known.
    scope.complete = not (actor.members or actor.related or actor.identifiers)
    if scope.emergency and ctx.care and ctx.care.patients and (
            (policy.rule("emergency") or _NO_RULE).raw.get("limitToTokenPatients", True)):
        scope.emergency_patients = frozenset(await _patients_by_pid(session, ctx.care.patients))
    if patients is None:
        await load_all(session, scope)
    else:
        await ensure(session, scope, patients)
    return scope


async def ensure(session: AsyncSession, scope: AccessScope, patients: Iterable[str]) -> None:
    """Load the Consents naming the actor, and the care relationship, of these patients."""
    want = [p for p in dict.fromkeys(patients) if not scope.known(p)]
    if want:
        found = await _consents(session, scope, want)
        for p in want:
            scope.consents[p] = []
        for c in found:
            pid = owner(scope.policy, "Consent", c)
            if pid in scope.consents:
                scope.consents[pid].append(c)
        await _load_teams(session, scope, found)
    await _load_care(session, scope, [p for p in scope.consents if p not in scope.care_known])


async def load_all(session: AsyncSession, scope: AccessScope) -> None:
    """Load every patient with a Consent naming the actor (unrestricted searches, history)."""
    if not scope.complete:
        found = await _consents(session, scope, None)
        for c in found:
            pid = owner(scope.policy, "Consent", c)
            if pid is not None and c not in scope.consents.setdefault(pid, []):
                scope.consents[pid].append(c)
        await _load_teams(session, scope, found)
        scope.complete = True
    await _load_care(session, scope, [p for p in scope.consents if p not in scope.care_known])


async def has_care(session: AsyncSession, scope: AccessScope, patient: str) -> bool:
    """Whether the actor has a care relationship with the patient (cached)."""
    if not scope.care_eligible:
        return False
    if patient not in scope.care_known:
        await _load_care(session, scope, [patient])
    return scope.care_known[patient]


async def _consents(session: AsyncSession, scope: AccessScope,
                    patients: list[str] | None) -> list[dict[str, Any]]:
    """Parsed current Consents naming the actor (of `patients`, or all)."""
    a, shared = scope.actor, scope.shared
    key = (a.key, None if patients is None else tuple(patients))
    keys = shared.consent_keys.get(key) if shared is not None else None
    if keys is None:
        keys = await repo.consent_keys(session, scope.policy, a.members, a.related,
                                       a.identifiers, patients)
        if shared is not None:
            shared.put("consent_keys", key, keys)
    parsed = cache.parsed(session)
    missing = [pk for pk, v in keys if parsed is None or (pk, v) not in parsed]
    fetched = await repo.contents_by_pk(session, missing) if missing else {}
    out = []
    for pk, v in keys:
        c = parsed.get((pk, v)) if parsed is not None else None
        if c is None and pk in fetched:  # a newer version than the key lookup saw is used too
            version, content = fetched[pk]
            c = orjson.loads(content)
            if parsed is not None:
                parsed[(pk, version)] = c
        if c is not None:  # None: deleted since the key lookup
            out.append(c)
    return out


async def _load_teams(session: AsyncSession, scope: AccessScope,
                      consents: list[dict[str, Any]]) -> None:
    """Which CareTeams named in these Consents' provisions the actor is an active member of."""
    named = {i for c in consents for i in _team_refs(c.get("provision"))} - scope.teams_checked
    if not named or not scope.actor.members:
        return
    members = scope.actor.members
    flags = await _flags(scope.shared, "teams", members, named,
                         lambda ids: repo.teams_among(session, scope.policy, members, ids))
    scope.teams |= {t for t, member in flags.items() if member}
    scope.teams_checked |= named


async def _flags(shared: cache.Entry | None, name: str, members: tuple[tuple[str, str], ...],
                 keys: Collection[str], fetch: Callable[[list[str]], Awaitable[set[str]]]
                 ) -> dict[str, bool]:
    """Per key, whether it holds for these members: from the shared cache, else one lookup."""
    store: dict[Any, bool] = getattr(shared, name) if shared is not None else {}
    out = {k: store[(members, k)] for k in keys if (members, k) in store}
    unknown = sorted(k for k in keys if k not in out)
    if unknown:
        found = await fetch(unknown)
        for k in unknown:
            out[k] = k in found
            if shared is not None:
                shared.put(name, (members, k), out[k])
    return out


def _team_refs(provision: Any, depth: int = 0) -> set[str]:
    """ids of CareTeams named as actors anywhere in a provision tree."""
    if not isinstance(provision, dict) or depth > 32:
        return set()
    out = set()
    for a in provision.get("actor") or ():
        t, i = ref_target(a.get("reference") if isinstance(a, dict) else None)
        if t == "CareTeam" and i:
            out.add(i)
    for child in provision.get("provision") or ():
        out |= _team_refs(child, depth + 1)
    return out


async def _load_care(session: AsyncSession, scope: AccessScope, patients: list[str]) -> None:
    """Care relationships of these patients (for care-eligible actors)."""
    if not scope.care_eligible:
        scope.care_known.update({p: False for p in patients})
        return
    members = scope.actor.members
    scope.care_known.update(await _flags(
        scope.shared, "care", members, patients,
        lambda ids: repo.care_among(session, scope.policy, members, ids)))


async def _patients_by_pid(session: AsyncSession, pids: tuple[str, ...]) -> list[str]:
    """Patient ids registered with any of these national identifiers."""
    out: list[str] = []
    for pid in pids:
        for system in PERSON_SYSTEMS:
            out += await repo.ids_with_token(session, "Patient", "identifier", system, pid)
    return out
