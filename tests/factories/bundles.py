"""Transaction and batch Bundles: a crisis plan (kriseplan) with its patient, next of kin,
goals and team, linked by urn:uuid fullUrls the way a journal system sends it.

Owned by the transactions engineer (tests/services/test_bundles*.py, tests/api/test_transaction*.py).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.api import bundles as bundle_routes
from app.db.engine import Database
from app.main import create_app
from tests.factories.resources import FNR, HPR, ORGNR, VOLVEN_9602, synthetic_fnr

VOLVEN_9033 = "urn:oid:2.16.578.1.12.4.1.1.9033"
FP = "https://fellesplan.no/fhir"
_XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'

# The sections of a krise- og mestringsplan (norway.md), in bokmål.
SECTIONS: list[tuple[str, str, str]] = [
    ("tidlige-tegn", "Tidlige tegn", "Sover dårlig flere netter på rad og slutter å svare på telefon."),
    ("egenmestring", "Egenmestring", "Gå tur, ringe broren min, unngå å være alene på kvelden."),
    ("kontakter", "Kontakter i krise", "Ring broren min først. Legevakt 116 117, ved fare 113."),
    ("tjenesteansvar", "Tjenestenes ansvar", "Kommunen følger opp hjemme to ganger i uken."),
    ("parorende", "Pårørende", "Broren kan komme hjem til meg og ringe akutteamet."),
    ("barn-og-dyr", "Barn og dyr", "Ingen barn. Broren tar seg av hunden ved innleggelse."),
    ("uonskede-tiltak", "Uønskede tiltak", "Jeg ønsker ikke å bli hentet av politi hvis det kan unngås."),
    ("voldsrisiko", "Voldsrisiko", "Ingen kjent voldsrisiko. Vurderes på nytt ved endring."),
]
# Sections where someone is named as responsible (the kriseplan profile requires a performer).
_PERFORMED = {"kontakter", "tjenesteansvar", "parorende", "barn-og-dyr", "voldsrisiko"}


def urn() -> str:
    """A fresh urn:uuid fullUrl."""
    return f"urn:uuid:{uuid.uuid4()}"


def hpr_number(rng: random.Random | None = None) -> str:
    """A synthetic HPR-nummer (digits only; there is no public check-digit rule)."""
    return str((rng or random.Random()).randint(1_000_000, 9_999_999))


def orgnr(rng: random.Random | None = None) -> str:
    """A synthetic organisasjonsnummer with a valid mod-11 check digit."""
    rng = rng or random.Random()
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    while True:
        first8 = f"9{rng.randint(0, 9_999_999):07d}"
        k = 11 - sum(w * int(c) for w, c in zip(weights, first8, strict=True)) % 11
        if k != 10:
            return first8 + str(0 if k == 11 else k)


def entry(resource: dict[str, Any] | None, method: str, url: str, *, full_url: str | None = None,
          **request: str) -> dict[str, Any]:
    """One Bundle entry."""
    out: dict[str, Any] = {"request": {"method": method, "url": url, **request}}
    if full_url is not None:
        out["fullUrl"] = full_url
    if resource is not None:
        out["resource"] = resource
    return out


def bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction or batch Bundle."""
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _text(html: str) -> dict[str, str]:
    return {"status": "generated", "div": _XHTML.format(html)}


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


@dataclass
class CrisisPlan:
    """The identities of one crisis plan Bundle, to build it and check what the server did."""

    fnr: str = field(default_factory=synthetic_fnr)
    hpr: str = field(default_factory=hpr_number)
    plan_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The sending system's own ids (Identifier.value), for conditional creates of the rest.
    local_ids: dict[str, str] = field(default_factory=dict)
    patient: str = field(default_factory=urn)
    brother: str = field(default_factory=urn)
    team: str = field(default_factory=urn)
    goals: list[str] = field(default_factory=lambda: [urn(), urn()])
    plan: str = field(default_factory=urn)
    doctor: str = field(default_factory=urn)
    # True: the doctor is linked by a conditional reference (by HPR-nummer), else by fullUrl.
    conditional_refs: bool = True

    @property
    def patient_criteria(self) -> str:
        """The conditional-create criteria of the patient."""
        return f"identifier={FNR}|{self.fnr}"

    @property
    def practitioner_ref(self) -> str:
        """The doctor: a conditional reference by HPR-nummer, or the entry's fullUrl."""
        return f"Practitioner?identifier={HPR}|{self.hpr}" if self.conditional_refs else self.doctor

    def local_id(self, key: str) -> dict[str, str]:
        """The sending system's identifier for one of the plan's resources."""
        value = self.local_ids.setdefault(key, uuid.uuid4().hex)
        return {"system": f"{FP}/sid/journal", "value": value}

    def criteria(self, key: str) -> str:
        """Conditional-create criteria on the sending system's identifier."""
        ident = self.local_id(key)
        return f"identifier={ident['system']}|{ident['value']}"

    def patient_resource(self) -> dict[str, Any]:
        """Kari, with an FNR and the fellesplan-patient profile."""
        return {"resourceType": "Patient",
                "meta": {"profile": [f"{FP}/StructureDefinition/fellesplan-patient"]},
                "text": _text("<p>Kari Nordmann (syntetisk testperson)</p>"),
                "identifier": [{"system": FNR, "value": self.fnr}],
                "name": [{"family": "Nordmann", "given": ["Kari"]}],
                "telecom": [{"system": "phone", "value": "+47 900 00 001", "use": "mobile"}],
                "gender": "female", "birthDate": "1990-05-12"}

    def practitioner_resource(self) -> dict[str, Any]:
        """The doctor who wrote the plan with her."""
        return {"resourceType": "Practitioner",
                "meta": {"profile": [f"{FP}/StructureDefinition/fellesplan-practitioner"]},
                "text": _text("<p>Lege Ola Hansen</p>"),
                "identifier": [{"system": HPR, "value": self.hpr}],
                "name": [{"family": "Hansen", "given": ["Ola"]}]}

    def brother_resource(self) -> dict[str, Any]:
        """Next of kin: her brother Per."""
        return {"resourceType": "RelatedPerson",
                "meta": {"profile": [f"{FP}/StructureDefinition/fellesplan-relatedperson"]},
                "text": _text("<p>Per Nordmann, bror</p>"),
                "identifier": [self.local_id("brother")],
                "patient": {"reference": self.patient},
                "relationship": [_coding(VOLVEN_9033, "BR", "Bror")],
                "name": [{"family": "Nordmann", "given": ["Per"]}],
                "telecom": [{"system": "phone", "value": "+47 900 00 002"}]}

    def team_resource(self) -> dict[str, Any]:
        """The responsibility group, with a neighbour who is only known inside the team."""
        neighbour = {"resourceType": "RelatedPerson", "id": "nabo",
                     "patient": {"reference": self.patient},
                     "relationship": [_coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                              "NBOR", "neighbor")],
                     "name": [{"family": "Berg", "given": ["Liv"]}]}
        roles = [("koordinator", "Koordinator", self.practitioner_ref),
                 ("parorende", "Pårørende", self.brother), ("kontaktperson", "Kontaktperson", "#nabo")]
        return {"resourceType": "CareTeam",
                "text": _text(f'<p>Ansvarsgruppe for <a href="{self.patient}">Kari Nordmann</a></p>'),
                "contained": [neighbour], "identifier": [self.local_id("team")],
                "status": "active", "name": "Ansvarsgruppe Kari",
                "subject": {"reference": self.patient},
                "participant": [
                    {"role": [_coding(f"{FP}/CodeSystem/team-rolle", code, display)],
                     "member": {"reference": ref}} for code, display, ref in roles]}

    def goal_resource(self, key: str, text: str) -> dict[str, Any]:
        """One of her goals."""
        return {"resourceType": "Goal", "identifier": [self.local_id(key)], "lifecycleStatus": "active",
                "description": {"text": text}, "subject": {"reference": self.patient},
                "expressedBy": {"reference": self.patient}}

    def plan_resource(self) -> dict[str, Any]:
        """The crisis plan (Volven 9602 A01-2) with every section."""
        activity = []
        for code, display, text in SECTIONS:
            detail: dict[str, Any] = {
                "code": _coding(f"{FP}/CodeSystem/kriseplan-seksjon", code, display),
                "status": "in-progress", "description": text}
            if code in _PERFORMED:
                detail["performer"] = [{"reference": self.brother, "display": "Per (bror)"}]
            activity.append({"detail": detail})
        return {
            "resourceType": "CarePlan",
            "meta": {"profile": [f"{FP}/StructureDefinition/kriseplan"]},
            "text": _text(f'<p>Kriseplan for <a href="{self.patient}">Kari Nordmann</a></p>'),
            "extension": [{"url": f"{FP}/StructureDefinition/revisjonsdato",
                           "valueDate": "2027-05-01"}],
            "identifier": [{"system": f"{FP}/sid/plan", "value": self.plan_id}],
            "status": "active", "intent": "plan",
            "category": [_coding(VOLVEN_9602, "A01-2", "Kriseplan"),
                         _coding(f"{FP}/CodeSystem/plantype", "kriseplan", "Kriseplan")],
            "title": "Min kriseplan", "subject": {"reference": self.patient},
            "period": {"start": "2026-11-01"}, "created": "2026-11-01",
            "author": {"reference": self.practitioner_ref},
            "contributor": [{"reference": self.patient}, {"reference": self.brother}],
            "careTeam": [{"reference": self.team}],
            "goal": [{"reference": g} for g in self.goals],
            "activity": activity,
        }

    def transaction(self, *, conditional: bool = True, kind: str = "transaction") -> dict[str, Any]:
        """The whole plan as one Bundle; conditional creates make it safe to send twice."""
        self.conditional_refs = conditional

        def cond(criteria: str) -> dict[str, str]:
            return {"ifNoneExist": criteria} if conditional else {}

        goals = ["Bo i egen leilighet og klare meg selv.", "Komme i jobb gjennom IPS."]
        return bundle(kind, [
            entry(self.practitioner_resource(), "POST", "Practitioner", full_url=self.doctor,
                  **cond(f"identifier={HPR}|{self.hpr}")),
            entry(self.patient_resource(), "POST", "Patient", full_url=self.patient,
                  **cond(self.patient_criteria)),
            entry(self.brother_resource(), "POST", "RelatedPerson", full_url=self.brother,
                  **cond(self.criteria("brother"))),
            entry(self.team_resource(), "POST", "CareTeam", full_url=self.team,
                  **cond(self.criteria("team"))),
            *[entry(self.goal_resource(f"goal{i}", t), "POST", "Goal", full_url=u,
                    **cond(self.criteria(f"goal{i}")))
              for i, (u, t) in enumerate(zip(self.goals, goals, strict=True))],
            entry(self.plan_resource(), "POST", "CarePlan", full_url=self.plan,
                  **cond(f"identifier={FP}/sid/plan|{self.plan_id}")),
        ])


def organization(number: str | None = None) -> dict[str, Any]:
    """A municipal service with an organisasjonsnummer."""
    return {"resourceType": "Organization", "active": True,
            "identifier": [{"system": ORGNR, "value": number or orgnr()}],
            "name": "Eksempel kommune, psykisk helse og rus"}


@asynccontextmanager
async def bundle_client(db: Database, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An ASGI client on the app, with `POST /fhir` mounted if the app does not have it yet."""
    settings = db.settings.model_copy(update=overrides) if overrides else db.settings
    app = create_app(settings, db)
    if not any(getattr(r, "path", None) == "/fhir" and "POST" in getattr(r, "methods", ())
               for r in app.routes):
        app.add_api_route("/fhir", bundle_routes.transaction_or_batch, methods=["POST"],
                          name="interaction:transaction+batch")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
