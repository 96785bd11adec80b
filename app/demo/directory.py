"""The directory: per region a kommune, DPS, TSB, GP office, NAV and legevakt, with staff."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from app.demo import codes as C
from app.demo import ids
from app.demo.texts import FAMILY, FIRST_F, FIRST_M, PLACES

# (key, tjenestetype, name pattern, staff as (title, Volven 9060 category or None for no HPR))
UNITS: tuple[tuple[str, str, str, tuple[tuple[str, str | None], ...]], ...] = (
    (
        "kommune",
        "kommune",
        "{place} kommune, rus og psykisk helse",
        (
            ("Koordinator", "SP"),
            ("Miljøterapeut", "VP"),
            ("Ruskonsulent", "SP"),
            ("Sosionom", None),
        ),
    ),
    (
        "dps",
        "phv",
        "DPS {place}",
        (
            ("Psykiater", "LE"),
            ("Psykolog", "PS"),
            ("Psykiatrisk sykepleier", "SP"),
            ("Psykolog", "PS"),
        ),
    ),
    ("tsb", "tsb", "Rusbehandling {place}", (("Lege i TSB", "LE"), ("Sykepleier", "SP"))),
    ("fastlege", "fastlege", "{place} legesenter", (("Fastlege", "LE"), ("Fastlege", "LE"))),
    ("nav", "nav", "NAV {place}", (("NAV-veileder", None), ("NAV-veileder", None))),
    ("legevakt", "legevakt", "{place} interkommunale legevakt", (("Legevaktlege", "LE"),)),
)
STAFF_PER_REGION = sum(len(u[3]) for u in UNITS)


@dataclass(frozen=True, slots=True)
class Person:
    """A staff member: Practitioner id, role id, unit key and whether they have an HPR number."""

    practitioner: str
    role: str
    unit: str
    name: str
    hpr: str | None


@dataclass(slots=True)
class Region:
    """One region's organisations (by unit key) and staff, and the FHIR resources for them."""

    index: int
    place: str
    kommunenr: str
    orgs: dict[str, str] = field(default_factory=dict)
    orgnrs: dict[str, str] = field(default_factory=dict)
    staff: list[Person] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)

    def in_unit(self, unit: str) -> list[Person]:
        """The staff of one unit."""
        return [p for p in self.staff if p.unit == unit]


def _organization(seed: int, region: Region, u: int, unit: tuple[Any, ...], postcode: str) -> None:
    """Add one Organization to the region."""
    key, stype, pattern, _ = unit
    org_id = ids.resource_id(seed, "org", region.index, u)
    number = ids.orgnr(region.index * len(UNITS) + u)
    region.orgs[key], region.orgnrs[key] = org_id, number
    region.resources.append(
        {
            "resourceType": "Organization",
            "id": org_id,
            "active": True,
            "identifier": [{"system": C.ORGNR, "value": number}],
            "type": [C.concept(C.SERVICE_TYPE, stype)],
            "name": pattern.format(place=region.place),
            "telecom": [{"system": "phone", "value": f"+47 {22 + u} {region.index % 90 + 10} 00 00"}],
            "address": [
                {
                    "use": "work",
                    "line": [f"Helsetunet {u + 1}"],
                    "postalCode": postcode,
                    "city": region.place,
                }
            ],
        }
    )


def _staff(
    seed: int, region: Region, rng: random.Random, key: str, n: int, title: str, cat: str | None
) -> None:
    """Add one Practitioner and PractitionerRole to the region."""
    person_no = region.index * STAFF_PER_REGION + len(region.staff)
    female = rng.random() < 0.6
    given = rng.choice(FIRST_F if female else FIRST_M)
    family = rng.choice(FAMILY)
    prac_id = ids.resource_id(seed, "prac", person_no)
    role_id = ids.resource_id(seed, "role", person_no)
    hpr = ids.hpr(person_no) if cat else None
    prac: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": prac_id,
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female" if female else "male",
    }
    if hpr:
        prac["identifier"] = [{"system": C.HPR, "value": hpr}]
        prac["qualification"] = [{"code": C.concept(C.VOLVEN_9060, cat or "XX")}]
    role = {
        "resourceType": "PractitionerRole",
        "id": role_id,
        "active": True,
        "practitioner": C.ref("Practitioner", prac_id, f"{given} {family}"),
        "organization": C.ref("Organization", region.orgs[key]),
        "code": [{"text": title}],
        "telecom": [{"system": "phone", "value": f"+47 9{person_no % 10_000_000:07d}", "use": "work"}],
    }
    region.resources += [prac, role]
    region.staff.append(Person(prac_id, role_id, key, f"{given} {family}", hpr))


def region(seed: int, index: int) -> Region:
    """Build region `index` (deterministic for the seed)."""
    rng = random.Random(seed * 1_000_003 + index)
    name, kommunenr, postcode, _ = PLACES[index % len(PLACES)]
    place = name if index < len(PLACES) else f"{name} {index // len(PLACES) + 1}"
    reg = Region(index, place, kommunenr)
    for u, unit in enumerate(UNITS):
        _organization(seed, reg, u, unit, postcode)
    for key, _, _, staff in UNITS:
        for n, (title, cat) in enumerate(staff):
            _staff(seed, reg, rng, key, n, title, cat)
    return reg


def questionnaires() -> list[dict[str, Any]]:
    """The two Questionnaires the demo QuestionnaireResponses answer."""

    def item(link: str, text: str, kind: str) -> dict[str, Any]:
        return {"linkId": link, "text": text, "type": kind}

    evaluation = {
        "resourceType": "Questionnaire",
        "id": "kriseplan-evaluering",
        "url": C.QUESTIONNAIRE_EVAL,
        "version": "1.0",
        "name": "KriseplanEvaluering",
        "title": "Evaluering av kriseplan",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            item("1", "Ble kriseplanen brukt siden sist?", "boolean"),
            item("2", "Hva fungerte godt?", "text"),
            item("3", "Hva bør endres i planen?", "text"),
            item("4", "Hvor trygg følte du deg (1-10)?", "integer"),
        ],
    }
    involvement = {
        "resourceType": "Questionnaire",
        "id": "brukermedvirkning",
        "url": C.QUESTIONNAIRE_USER,
        "version": "1.0",
        "name": "Brukermedvirkning",
        "title": "Brukermedvirkning i planarbeidet",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            item("1", "Fikk du være med å bestemme innholdet i planen?", "boolean"),
            item("2", "Hva er viktigst for deg nå?", "text"),
        ],
    }
    return [evaluation, involvement]
