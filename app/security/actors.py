"""Actors: from verified token claims to a RequestContext, with registry lookups cached briefly."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.repository import actors as repo
from app.security import claims as C
from app.security import scopes as S
from app.services.context import SYSTEM, ActorKind, RequestContext

ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
PERSON_SYSTEMS = ("urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2")
TJENESTETYPE = "https://fellesplan.no/fhir/CodeSystem/tjenestetype"
SERVICE_TYPES = frozenset({"kommune", "phv", "tsb", "fastlege", "legevakt", "nav", "annen"})


class SessionSource(Protocol):
    """Anything that opens a read session (app.db.engine.Database)."""

    def session(self, write: bool) -> Any: ...


@dataclass(frozen=True, slots=True)
class OrgInfo:
    """A registered organisation."""

    ref: str
    name: str | None
    service_type: str | None


@dataclass(frozen=True, slots=True)
class PersonLinks:
    """What a pid matches: own Patients, RelatedPersons, and the patients they relate to."""

    patients: tuple[str, ...] = ()
    related_persons: tuple[str, ...] = ()
    related_patients: tuple[str, ...] = ()


def classify(claims: dict[str, Any], scopes: frozenset[str]) -> ActorKind:
    """The actor kind from identity claims and scopes."""
    pid, hpr, org = (C.text(claims, n) for n in (C.PID, C.HPR, C.ORG_CHILD))
    org = org or C.text(claims, C.ORG_PARENT)
    if S.ADMIN_SCOPE in scopes:
        return ActorKind.ADMIN
    if hpr:
        return ActorKind.HEALTH
    if pid and org:
        return ActorKind.STAFF
    if pid:
        return ActorKind.PERSON
    return ActorKind.CLIENT


def service_type_of(org: dict[str, Any]) -> str | None:
    """The tjenestetype code of an Organization resource."""
    for concept in org.get("type") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == TJENESTETYPE and coding.get("code") in SERVICE_TYPES:
                return str(coding["code"])
    return None


def _has_identifier(resource: dict[str, Any], systems: tuple[str, ...], value: str) -> bool:
    """True when the resource carries identifier system|value exactly."""
    return any(
        i.get("system") in systems and i.get("value") == value
        for i in resource.get("identifier") or ()
    )


def _index_orgs(orgs: list[dict[str, Any]]) -> dict[str, OrgInfo]:
    """Map organisasjonsnummer to the registered Organization (active ones win)."""
    out: dict[str, OrgInfo] = {}
    for org in sorted(orgs, key=lambda o: o.get("active") is not False):
        info = OrgInfo(f"Organization/{org.get('id')}", org.get("name"), service_type_of(org))
        for ident in org.get("identifier") or ():
            if ident.get("system") == ORGNR_SYSTEM and isinstance(ident.get("value"), str):
                out[ident["value"]] = info
    return out


def _links(pid: str, resources: list[dict[str, Any]]) -> PersonLinks:
    """Exact identifier matches among pre-filtered Patient/RelatedPerson resources."""
    patients, related, related_patients = [], [], []
    for res in resources:
        if not _has_identifier(res, PERSON_SYSTEMS, pid):
            continue
        ref = f"{res['resourceType']}/{res.get('id')}"
        if res["resourceType"] == "Patient":
            patients.append(ref)
        elif res.get("active") is not False:
            related.append(ref)
            target = (res.get("patient") or {}).get("reference")
            if isinstance(target, str) and target.startswith("Patient/"):
                related_patients.append(target)
    return PersonLinks(tuple(sorted(patients)), tuple(sorted(related)),
                       tuple(sorted(set(related_patients))))


class Directory:
    """Organisation and person lookups, cached for `ttl` seconds (short: registry edits show)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._orgs: tuple[float, dict[str, OrgInfo]] | None = None
        self._persons: dict[str, tuple[float, PersonLinks]] = {}

    async def org(self, session: AsyncSession, orgnr: str) -> OrgInfo | None:
        """The registered organisation with this organisasjonsnummer."""
        now = time.monotonic()
        if self._orgs is None or now - self._orgs[0] >= self.ttl:
            self._orgs = (now, _index_orgs(await repo.organizations(session, SYSTEM)))
        return self._orgs[1].get(orgnr)

    async def person(self, session: AsyncSession, pid: str) -> PersonLinks:
        """The Patients and RelatedPersons registered with this FNR/DNR."""
        now = time.monotonic()
        hit = self._persons.get(pid)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        links = _links(pid, await repo.persons_with_identifier(session, SYSTEM, pid))
        if len(self._persons) > 50_000:
            self._persons.clear()  # bounded; a miss only costs one lookup
        self._persons[pid] = (now, links)
        return links

    def invalidate(self) -> None:
        """Forget cached lookups (tests, and after registry imports)."""
        self._orgs = None
        self._persons.clear()


async def build_context(
    claims: dict[str, Any], scopes: frozenset[str], session: AsyncSession, directory: Directory
) -> RequestContext:
    """The actor context of a verified token (request_id is filled in per request)."""
    kind = classify(claims, scopes)
    pid, hpr = C.text(claims, C.PID), C.text(claims, C.HPR)
    child, parent = C.text(claims, C.ORG_CHILD), C.text(claims, C.ORG_PARENT)
    org = child or parent
    info = await directory.org(session, org) if org else None
    links = await directory.person(session, pid) if kind is ActorKind.PERSON and pid else None
    care = C.care_relationship(claims)
    return RequestContext(
        kind=kind, pid=pid, hpr=hpr, org=org, org_parent=parent,
        client_id=C.text(claims, "client_id") or C.text(claims, "azp"),
        scopes=scopes, purpose_of_use=care.purpose_of_use if care else None,
        org_ref=info.ref if info else None, org_name=info.name if info else None,
        service_type=info.service_type if info else None, name=_name(claims),
        patient_refs=links.patients if links else (),
        related_person_refs=links.related_persons if links else (),
        related_patient_refs=links.related_patients if links else (), care=care,
    )


def _name(claims: dict[str, Any]) -> str | None:
    """The person's display name from OIDC name claims."""
    name = C.text(claims, "name")
    if name:
        return name
    parts = [C.text(claims, n) for n in ("given_name", "middle_name", "family_name")]
    return " ".join(p for p in parts if p) or None
