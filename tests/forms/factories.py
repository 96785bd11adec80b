"""Factories for the forms tests: Questionnaires, responses, and a patient with a care network."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from app.db.engine import Database
from app.services.seed import seed_profile_resources
from tests.factories.resources import patient, uid
from tests.helpers import JSON_HEADERS

ROOT = Path(__file__).resolve().parents[2]
FORM_URL = "https://fellesplan.no/fhir/Questionnaire/kriseplan-skjema"
KRISEPLAN = "https://fellesplan.no/fhir/StructureDefinition/kriseplan"
SEKSJON = "https://fellesplan.no/fhir/CodeSystem/kriseplan-seksjon"
VOLVEN_9033 = "urn:oid:2.16.578.1.12.4.1.1.9033"


def kriseplan_skjema() -> dict[str, Any]:
    """The product Questionnaire (profiles/questionnaires)."""
    path = ROOT / "profiles" / "questionnaires" / "Questionnaire-kriseplan-skjema.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def spec_example(name: str) -> dict[str, Any]:
    """An official FHIR R4 example (copied into tests/data/examples)."""
    data: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "examples" / name).read_text())
    return data


def question(link_id: str, q_type: str, **over: Any) -> dict[str, Any]:
    """A Questionnaire item."""
    return {"linkId": link_id, "text": link_id, "type": q_type, **over}


def questionnaire(*items: dict[str, Any], **over: Any) -> dict[str, Any]:
    """A small Questionnaire around the given items."""
    return {
        "resourceType": "Questionnaire",
        "id": uid(),
        "url": f"https://example.org/q/{uid()}",
        "status": "active",
        "item": list(items),
        **over,
    }


def answer_item(link_id: str, *answers: dict[str, Any], **over: Any) -> dict[str, Any]:
    """A response item with answers."""
    return {"linkId": link_id, "answer": list(answers), **over}


def response(q: dict[str, Any], *items: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """A response to `q`."""
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": q.get("url", ""),
        "status": status,
        "item": list(items),
    }


def contact(name: str, phone: str, relation: str | None = None) -> dict[str, Any]:
    """One kontakter.kontakt group instance."""
    items = [answer_item("kontakter.kontakt.navn", {"valueString": name})]
    if relation:
        items.append(
            answer_item(
                "kontakter.kontakt.relasjon", {"valueCoding": {"system": VOLVEN_9033, "code": relation}}
            )
        )
    items.append(answer_item("kontakter.kontakt.telefon", {"valueString": phone}))
    return {"linkId": "kontakter.kontakt", "item": items}


def service(name: str, duty: str) -> dict[str, Any]:
    """One tjenesteansvar.tjeneste group instance."""
    return {
        "linkId": "tjenesteansvar.tjeneste",
        "item": [
            answer_item("tjenesteansvar.tjeneste.navn", {"valueString": name}),
            answer_item("tjenesteansvar.tjeneste.ansvar", {"valueString": duty}),
        ],
    }


def text_section(link: str, value: str, *extra: dict[str, Any]) -> dict[str, Any]:
    """A section group with its free text (and extra items after it)."""
    return {"linkId": link, "item": [answer_item(f"{link}.tekst", {"valueString": value}), *extra]}


def kriseplan_response(
    patient_ref: str, *, children: bool = False, violence: bool = False, **over: Any
) -> dict[str, Any]:
    """A completed kriseplan-skjema response that satisfies every rule."""
    barn = [answer_item("barn-og-dyr.har", {"valueBoolean": children})]
    if children:
        barn.append(answer_item("barn-og-dyr.tekst", {"valueString": "Søsteren henter barna."}))
    vold = [answer_item("voldsrisiko.aktuelt", {"valueBoolean": violence})]
    if violence:
        vold.append(answer_item("voldsrisiko.tekst", {"valueString": "Ring politiet ved trusler."}))
    items = [
        {
            "linkId": "plan",
            "item": [
                answer_item("plan.start", {"valueDate": "2026-11-01"}),
                answer_item("plan.revisjonsdato", {"valueDate": "2027-05-01"}),
            ],
        },
        text_section("tidlige-tegn", "Sover dårlig."),
        text_section("egenmestring", "Går tur."),
        text_section("kontakter", "Ring broren først.", contact("Per Nordmann", "+47 900 00 002", "BR")),
        text_section("tjenesteansvar", "Tjenestene samarbeider.", service("DPS", "Akutteam og medisiner")),
        {
            "linkId": "parorende",
            "item": [
                answer_item("parorende.tekst", {"valueString": "Broren kan komme."}),
                answer_item("parorende.samtykke", {"valueBoolean": True}),
            ],
        },
        {"linkId": "barn-og-dyr", "item": barn},
        text_section("uonskede-tiltak", "Ikke politi."),
        {"linkId": "voldsrisiko", "item": vold},
    ]
    res = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": FORM_URL,
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": "2026-11-01T10:00:00Z",
        "item": items,
    }
    res.update(over)
    return res


async def put(client: httpx.AsyncClient, resource: dict[str, Any]) -> dict[str, Any]:
    """PUT a resource with its id (If-Match when it exists) and return what was stored."""
    url = f"/fhir/{resource['resourceType']}/{resource['id']}"
    current = await client.get(url)
    headers = dict(JSON_HEADERS)
    if current.status_code == 200:
        headers["If-Match"] = current.headers["etag"]
    resp = await client.put(url, json=resource, headers=headers)
    assert resp.status_code in (200, 201), resp.text
    stored: dict[str, Any] = resp.json()
    return stored


async def seed_form(db: Database) -> None:
    """Store the profile Questionnaires as the app does at start (SYSTEM: clients may not write them)."""
    await seed_profile_resources(db)


async def seed_network(client: httpx.AsyncClient) -> dict[str, str]:
    """A patient with a brother, a DPS, a municipal service and an active care team; returns ids."""
    ids = {k: uid() for k in ("patient", "brother", "dps", "kommune", "team", "lege")}
    await put(client, patient(id=ids["patient"]))
    await put(
        client,
        {
            "resourceType": "RelatedPerson",
            "id": ids["brother"],
            "patient": {"reference": f"Patient/{ids['patient']}"},
            "relationship": [{"coding": [{"system": VOLVEN_9033, "code": "BR", "display": "Bror"}]}],
            "name": [{"family": "Nordmann", "given": ["Per"]}],
            "telecom": [{"system": "phone", "value": "+47 900 00 002"}],
        },
    )
    await put(
        client,
        {
            "resourceType": "Organization",
            "id": ids["dps"],
            "name": "DPS",
            "telecom": [{"system": "phone", "value": "55 00 00 00"}],
        },
    )
    await put(client, {"resourceType": "Organization", "id": ids["kommune"], "name": "Kommunen"})
    await put(
        client,
        {
            "resourceType": "Practitioner",
            "id": ids["lege"],
            "name": [{"family": "Hansen", "given": ["Lege"]}],
        },
    )
    await put(
        client,
        {
            "resourceType": "CareTeam",
            "id": ids["team"],
            "status": "active",
            "subject": {"reference": f"Patient/{ids['patient']}"},
            "participant": [
                {"member": {"reference": f"Organization/{ids['dps']}"}},
                {"member": {"reference": f"Organization/{ids['kommune']}"}},
            ],
        },
    )
    return ids


def copy_of(resource: dict[str, Any]) -> dict[str, Any]:
    """A deep copy (tests edit what they post)."""
    return copy.deepcopy(resource)
