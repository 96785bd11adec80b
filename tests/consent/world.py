"""A small model of who treats whom and who consented to what, rendered as FHIR resources.

The model is what the reference function (reference.py) reads; the FHIR rendering is what the
server stores. Tests compare the server's answers with the reference's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.repository.resources import NewVersion, ResourceRepository
from app.services.context import SYSTEM, ActorKind, RequestContext

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
TJENESTETYPE = "https://fellesplan.no/fhir/CodeSystem/tjenestetype"
PLANTYPE = "https://fellesplan.no/fhir/CodeSystem/plantype"
SEKSJON = "https://fellesplan.no/fhir/CodeSystem/kriseplan-seksjon"
DOMENE = "https://fellesplan.no/fhir/CodeSystem/ip-domene"
VOLVEN = "urn:oid:2.16.578.1.12.4.1.1.9602"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
KIND_CODING = {"kriseplan": (VOLVEN, "A01-2"), "individuell-plan": (PLANTYPE, "individuell-plan")}
SECTION_SYSTEM = {"kriseplan": SEKSJON, "individuell-plan": DOMENE}


def uid(prefix: str) -> str:
    """A unique id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def number(n: int) -> str:
    """A unique digit string (identifiers only need to be unique in tests)."""
    return str(uuid.uuid4().int)[-n:]


@dataclass
class Org:
    id: str
    orgnr: str
    service: str | None


@dataclass
class Prac:
    id: str
    hpr: str
    org: Org
    role: str | None = None  # a PractitionerRole id at `org`, when membership goes through it


@dataclass
class Team:
    id: str
    patient: str
    status: str
    members: list[tuple[str, str]]  # (Practitioner|PractitionerRole|Organization|onBehalfOf, id)


@dataclass
class ConsentM:
    id: str
    patient: str
    decision: str  # permit | deny
    actor: tuple[str, str]  # (type, id) or ("service", tjenestetype code)
    classes: tuple[str, ...] = ()
    plan_types: tuple[str, ...] = ()
    sections: tuple[tuple[str, str], ...] = ()
    active: bool = True
    nested: bool = False  # rendered as a root deny without actor around the provision


@dataclass
class Plan:
    id: str
    patient: str
    kind: str  # kriseplan | individuell-plan | plan
    sections: list[tuple[str, str]]


@dataclass
class Actor:
    name: str
    kind: str  # health | client | person | staff | admin
    org: Org | None = None
    prac: Prac | None = None
    pid: str | None = None
    patient: str | None = None  # the actor's own Patient id
    related: tuple[str, ...] = ()  # RelatedPerson ids the person is
    emergency: bool = False

    @property
    def service(self) -> str | None:
        return self.org.service if self.org else None

    def context(self) -> RequestContext:
        """The RequestContext authentication would build for this actor."""
        org = self.org
        return RequestContext(
            kind=ActorKind(self.kind), request_id=uid("req"), pid=self.pid,
            hpr=self.prac.hpr if self.prac else None, org=org.orgnr if org else None,
            org_ref=f"Organization/{org.id}" if org and org.service else None,
            service_type=org.service if org else None,
            scopes=frozenset({"user/*.cruds"} | ({"fellesplan/admin"} if self.kind == "admin"
                                                 else set())),
            patient_refs=(f"Patient/{self.patient}",) if self.patient else (),
            related_person_refs=tuple(f"RelatedPerson/{r}" for r in self.related),
            purpose_of_use="ETREAT" if self.emergency else None,
            break_glass_reason="Bevisstløs pasient på legevakten" if self.emergency else None,
        )


@dataclass
class World:
    orgs: list[Org] = field(default_factory=list)
    pracs: list[Prac] = field(default_factory=list)
    patients: dict[str, str | None] = field(default_factory=dict)  # id -> GP Practitioner id
    related: dict[str, str] = field(default_factory=dict)  # RelatedPerson id -> patient id
    teams: list[Team] = field(default_factory=list)
    consents: list[ConsentM] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    goals: dict[str, str] = field(default_factory=dict)  # Goal id -> patient id

    def resources(self) -> list[tuple[str, str, str | None]]:
        """(type, id, owner patient) of every compartment resource in the world."""
        out: list[tuple[str, str, str | None]] = [("Patient", p, p) for p in self.patients]
        out += [("CarePlan", p.id, p.patient) for p in self.plans]
        out += [("Goal", g, p) for g, p in self.goals.items()]
        out += [("CareTeam", t.id, t.patient) for t in self.teams]
        out += [("Consent", c.id, c.patient) for c in self.consents]
        out += [("RelatedPerson", r, p) for r, p in self.related.items()]
        return out


# -- FHIR rendering ----------------------------------------------------------------------------


def ref(t: str, i: str) -> dict[str, str]:
    return {"reference": f"{t}/{i}"}


def org_res(o: Org) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Organization", "id": o.id, "active": True,
                           "identifier": [{"system": ORGNR, "value": o.orgnr}], "name": o.id}
    if o.service:
        res["type"] = [{"coding": [{"system": TJENESTETYPE, "code": o.service}]}]
    return res


def prac_res(p: Prac) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"resourceType": "Practitioner", "id": p.id,
                                  "identifier": [{"system": HPR, "value": p.hpr}]}]
    if p.role:
        out.append({"resourceType": "PractitionerRole", "id": p.role, "active": True,
                    "practitioner": ref("Practitioner", p.id),
                    "organization": ref("Organization", p.org.id)})
    return out


def patient_res(pid: str, gp: str | None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": pid,
                           "identifier": [{"system": FNR, "value": number(11)}],
                           "name": [{"family": "Nordmann", "given": [pid]}]}
    if gp:
        res["generalPractitioner"] = [ref("Practitioner", gp)]
    return res


def team_res(t: Team) -> dict[str, Any]:
    parts = []
    for kind, i in t.members:
        if kind == "onBehalfOf":
            parts.append({"member": {"display": "vakt"}, "onBehalfOf": ref("Organization", i)})
        else:
            parts.append({"member": ref(kind, i)})
    return {"resourceType": "CareTeam", "id": t.id, "status": t.status,
            "subject": ref("Patient", t.patient), "participant": parts}


def plan_res(p: Plan) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "CarePlan", "id": p.id, "status": "active",
                           "intent": "plan", "subject": ref("Patient", p.patient),
                           "description": f"Hemmelig beskrivelse {p.id}",
                           "note": [{"text": "Fortrolig notat"}]}
    if p.kind in KIND_CODING:
        s, c = KIND_CODING[p.kind]
        res["category"] = [{"coding": [{"system": s, "code": c}]}]
    res["activity"] = [{"detail": {"status": "not-started", "description": f"tiltak {c}",
                                   "code": {"coding": [{"system": s, "code": c}]}}}
                       for s, c in p.sections] + [{"detail": {"status": "not-started",
                                                              "description": "uten seksjon"}}]
    return res


def consent_res(c: ConsentM) -> dict[str, Any]:
    if c.actor[0] == "service":
        actor_ref: dict[str, Any] = {"type": "Organization",
                                     "identifier": {"system": TJENESTETYPE, "value": c.actor[1]}}
    else:
        actor_ref = ref(*c.actor)
    prov: dict[str, Any] = {"type": c.decision, "actor": [{"role": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GRANTEE"}]},
        "reference": actor_ref}]}
    if c.classes:
        prov["class"] = [{"system": RESOURCE_TYPES, "code": t} for t in c.classes]
    codes = [{"coding": [{"system": KIND_CODING[k][0], "code": KIND_CODING[k][1]}]}
             for k in c.plan_types]
    codes += [{"coding": [{"system": s, "code": code}]} for s, code in c.sections]
    if codes:
        prov["code"] = codes
    period = {"start": "2020-01-01", "end": "2099-12-31" if c.active else "2021-01-01"}
    root = ({"type": "deny", "period": period, "provision": [prov]} if c.nested
            else {**prov, "period": period})
    return {"resourceType": "Consent", "id": c.id, "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "dateTime": "2020-01-01T12:00:00+01:00", "policyRule": {"text": "hpl § 22"},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": ref("Patient", c.patient), "provision": root}


def render(w: World) -> list[dict[str, Any]]:
    """Every resource of the world as FHIR JSON."""
    out = [org_res(o) for o in w.orgs]
    out += [r for p in w.pracs for r in prac_res(p)]
    out += [patient_res(p, gp) for p, gp in w.patients.items()]
    out += [{"resourceType": "RelatedPerson", "id": r, "active": True, "patient": ref("Patient", p),
             "identifier": [{"system": FNR, "value": number(11)}]} for r, p in w.related.items()]
    out += [team_res(t) for t in w.teams]
    out += [consent_res(c) for c in w.consents]
    out += [plan_res(p) for p in w.plans]
    out += [{"resourceType": "Goal", "id": g, "lifecycleStatus": "active",
             "description": {"text": "mål"}, "subject": ref("Patient", p)}
            for g, p in w.goals.items()]
    return out


async def store(db: Any, resources: list[dict[str, Any]]) -> None:
    """Write resources (version 1) through the core repository, indexes included."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    async with db.session(write=True) as session:
        repo = ResourceRepository(session, SYSTEM)
        for res in resources:
            await repo.insert_new(NewVersion(res["resourceType"], res["id"], 1, now, "POST",
                                             orjson.dumps(res), res))
