"""One synthetic patient with next of kin, care team, plans, consents and forms."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.demo import codes as C
from app.demo import ids, plans
from app.demo.directory import Person, Region
from app.demo.texts import FAMILY, FIRST_F, FIRST_M, STREETS

_EPOCH = date(2025, 1, 6)
_ROLE_OF_UNIT = {
    "kommune": "kontaktperson",
    "dps": "behandler",
    "tsb": "behandler",
    "fastlege": "behandler",
    "nav": "kontaktperson",
    "legevakt": "behandler",
}
_KIN = (
    ("MO", "Mor"),
    ("FA", "Far"),
    ("SI", "Søster"),
    ("BR", "Bror"),
    ("SA", "Samboer"),
    ("EF", "Ektefelle"),
    ("DA", "Datter"),
    ("AP", "Annen personlig relasjon"),
)


_POLICY = "Samtykke etter helsepersonelloven § 22 og pasient- og brukerrettighetsloven § 3-3"
_OBJECTION = "Pasienten motsetter seg deling (pasient- og brukerrettighetsloven § 5-3)"


@dataclass(slots=True)
class PatientData:
    """A patient's resources: version 1 in dependency order, then one list per later version."""

    index: int
    fnr: str
    patient_id: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def plan_ids(self) -> tuple[str, str]:
        """(kriseplan id, individuell plan id)."""
        return self.resources[-2]["id"], self.resources[-1]["id"]


def _patient(
    rng: random.Random, pid: str, fnr: str, born: date, gender: str, reg: Region, gp: Person
) -> tuple[dict[str, Any], str]:
    """The Patient resource and its display name."""
    given = rng.choice(FIRST_M if gender == "male" else FIRST_F)
    family = rng.choice(FAMILY)
    name = f"{given} {family}"
    return {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "identifier": [{"use": "official", "system": C.FNR, "value": fnr}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": f"+47 4{rng.randrange(10**7):07d}", "use": "mobile"}],
        "gender": gender,
        "birthDate": born.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [f"{rng.choice(STREETS)} {rng.randint(1, 120)}"],
                "city": reg.place,
                "district": reg.kommunenr,
            }
        ],
        "generalPractitioner": [
            C.ref("Practitioner", gp.practitioner, gp.name),
            C.ref("Organization", reg.orgs["fastlege"]),
        ],
        "managingOrganization": C.ref("Organization", reg.orgs["kommune"]),
    }, name


def _kin(rng: random.Random, kid: str, pid: str, family: str) -> dict[str, Any]:
    """A next of kin (pårørende) as RelatedPerson, relation from Volven 9033."""
    code, display = rng.choice(_KIN)
    return {
        "resourceType": "RelatedPerson",
        "id": kid,
        "active": True,
        "patient": C.ref("Patient", pid),
        "relationship": [C.concept(C.VOLVEN_9033, code, display)],
        "name": [{"family": rng.choice((family, *FAMILY[:5])), "given": [rng.choice(FIRST_F + FIRST_M)]}],
        "telecom": [{"system": "phone", "value": f"+47 9{rng.randrange(10**7):07d}"}],
    }


def _care_team(rng: random.Random, tid: str, cast: plans.Cast, reg: Region, age: int) -> dict[str, Any]:
    """A FACT team (FACT ung under 25) or an ansvarsgruppe, staffed from several services."""
    fact = rng.random() < 0.55
    kind = ("fact-ung" if age < 25 else "fact") if fact else "ansvarsgruppe"

    def member(p: Person) -> dict[str, Any]:
        role = "koordinator" if p == cast.koordinator else _ROLE_OF_UNIT[p.unit]
        return {
            "role": [C.concept(C.TEAM_ROLE, role)],
            "member": C.ref("Practitioner", p.practitioner, p.name),
            "onBehalfOf": C.ref("Organization", reg.orgs[p.unit]),
        }

    # The patient is the team's subject, never a participant (fellesplan-careteam).
    participants = [member(p) for p in cast.staff]
    participants += [
        {"role": [C.concept(C.TEAM_ROLE, "parorende")], "member": C.ref("RelatedPerson", k)}
        for k in cast.kin[:1]
    ]
    name = f"{C.TEAM_DISPLAY[kind]} {reg.place}" if fact else f"Ansvarsgruppe for {cast.patient_name}"
    return {
        "resourceType": "CareTeam",
        "id": tid,
        "status": "active",
        "category": [C.concept(C.TEAM_TYPE, kind, C.TEAM_DISPLAY[kind])],
        "name": name,
        "subject": C.ref("Patient", cast.patient),
        "period": {"start": cast.start.isoformat()},
        "participant": participants,
        "managingOrganization": [C.ref("Organization", reg.orgs["kommune" if not fact else "dps"])],
    }


def _team_staff(rng: random.Random, reg: Region) -> tuple[Person, tuple[Person, ...]]:
    """The koordinator and the team: municipal and specialist staff, GP, sometimes NAV and TSB."""
    koordinator = reg.in_unit("kommune")[0]
    staff = [
        koordinator,
        rng.choice(reg.in_unit("kommune")[1:]),
        *rng.sample(reg.in_unit("dps"), 2),
        rng.choice(reg.in_unit("fastlege")),
    ]
    if rng.random() < 0.6:
        staff.append(rng.choice(reg.in_unit("tsb")))
    if rng.random() < 0.5:
        staff.append(rng.choice(reg.in_unit("nav")))
    return koordinator, tuple(staff)


def _consent(
    cid: str, pid: str, when: date, kind: str, actor: dict[str, Any], plan_code: str
) -> dict[str, Any]:
    """A samtykke: permit or deny sharing one plan type with one actor."""
    return {
        "resourceType": "Consent",
        "id": cid,
        "status": "active",
        "scope": C.concept(C.CONSENT_SCOPE, "patient-privacy"),
        "category": [C.concept(C.LOINC, "59284-0", "Patient Consent")],
        "patient": C.ref("Patient", pid),
        "dateTime": f"{when.isoformat()}T12:00:00+01:00",
        "performer": [C.ref("Patient", pid)],
        "policyRule": {"text": _POLICY if kind == "permit" else _OBJECTION},
        "provision": {
            "type": kind,
            "period": {"start": when.isoformat(), "end": (when + timedelta(days=730)).isoformat()},
            "actor": [{"role": C.concept(C.ROLE_CODE, "GRANTEE"), "reference": actor}],
            "class": [{"system": C.RESOURCE_TYPES, "code": "CarePlan"}],
            "code": [C.concept(C.PLANTYPE, plan_code)],
        },
    }


def _consents(rng: random.Random, seed: int, i: int, cast: plans.Cast, reg: Region) -> list[dict[str, Any]]:
    """Consent to share with the team, usually NAV and next of kin; sometimes an objection."""
    wanted = [(0, "permit", C.ref("CareTeam", cast.care_team), "kriseplan")]
    if rng.random() < 0.7:
        wanted.append((1, "permit", C.ref("Organization", reg.orgs["nav"]), "individuell-plan"))
    if cast.kin and rng.random() < 0.6:
        wanted.append((2, "permit", C.ref("RelatedPerson", cast.kin[0]), "kriseplan"))
    if rng.random() < 0.15:  # the patient objects to the legevakt seeing the crisis plan
        wanted.append((3, "deny", C.ref("Organization", reg.orgs["legevakt"]), "kriseplan"))
    return [
        _consent(ids.resource_id(seed, "consent", i, n), cast.patient, cast.start, kind, actor, code)
        for n, kind, actor, code in wanted
    ]


def _responses(rng: random.Random, seed: int, i: int, cast: plans.Cast) -> list[dict[str, Any]]:
    """Evaluations of the crisis plan and the patient's say in the planning."""
    out = []
    for n in range(rng.randint(1, 2)):
        when = cast.start + timedelta(days=30 * (n + 1))
        answers = [
            ("1", {"valueBoolean": rng.random() < 0.6}),
            ("2", {"valueString": "At teamet tok kontakt raskt da jeg ringte."}),
            ("3", {"valueString": "Legge inn nytt nummer til støttekontakten."}),
            ("4", {"valueInteger": rng.randint(3, 9)}),
        ]
        out.append(
            {
                "resourceType": "QuestionnaireResponse",
                "id": ids.resource_id(seed, "qr", i, n),
                "questionnaire": f"{C.QUESTIONNAIRE_EVAL}|1.0",
                "status": "completed",
                "subject": C.ref("Patient", cast.patient),
                "authored": f"{when.isoformat()}T14:00:00+01:00",
                "author": C.ref("Patient", cast.patient),
                "item": [{"linkId": link, "answer": [value]} for link, value in answers],
            }
        )
    return out


def build(seed: int, i: int, reg: Region) -> PatientData:
    """Every resource of patient `i`, deterministic for (seed, i)."""
    rng = random.Random(seed * 7_777_777 + i)
    fnr, born, gender = ids.synthetic_fnr(seed, i)
    pid = ids.resource_id(seed, "pat", i)
    koordinator, staff = _team_staff(rng, reg)
    gp = next((p for p in staff if p.unit == "fastlege"), reg.in_unit("fastlege")[0])
    patient, name = _patient(rng, pid, fnr, born, gender, reg, gp)
    kin = [
        _kin(rng, ids.resource_id(seed, "kin", i, n), pid, patient["name"][0]["family"])
        for n in range(rng.choice((0, 1, 1, 2)))
    ]
    start = _EPOCH + timedelta(days=rng.randrange(540))
    cast = plans.Cast(
        pid,
        name,
        ids.resource_id(seed, "team", i),
        koordinator,
        staff,
        reg.orgs,
        tuple(k["id"] for k in kin),
        start,
        ids.resource_id(seed, "consent", i, 0),
    )
    goal_ids = [ids.resource_id(seed, "goal", i, n) for n in range(rng.randint(2, 4))]
    data = PatientData(i, fnr, pid)
    data.resources = [
        patient,
        *kin,
        _care_team(rng, cast.care_team, cast, reg, start.year - born.year),
        *plans.goals(rng, goal_ids, cast),
        *_consents(rng, seed, i, cast, reg),
        *_responses(rng, seed, i, cast),
    ]
    krise = plans.kriseplan(rng, ids.resource_id(seed, "krise", i), cast)
    ip = plans.individuell_plan(rng, ids.resource_id(seed, "ip", i), goal_ids, cast)
    data.resources += [krise, ip]
    data.revisions = _revisions(rng, [krise, ip], start)
    return data


def _revisions(rng: random.Random, current: list[dict[str, Any]], start: date) -> list[list[dict[str, Any]]]:
    """Versions 2..5 of the plans: each plan gets 3-5 versions in all."""
    wanted = [rng.randint(3, 5) for _ in current]
    rounds: list[list[dict[str, Any]]] = []
    for version in range(2, max(wanted) + 1):
        when = start + timedelta(days=60 * (version - 1))
        batch = []
        for n, plan in enumerate(current):
            if version <= wanted[n]:
                current[n] = plans.revise(rng, plan, when)
                batch.append(current[n])
        rounds.append(batch)
    return rounds
