"""QuestionnaireResponse/$extract: kriseplan-skjema -> Kriseplan transaction, and the full round trip."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from app.db.engine import Database
from app.validation.hook import validate_resource
from tests.factories.resources import uid
from tests.forms.factories import (
    KRISEPLAN,
    SEKSJON,
    VOLVEN_9033,
    answer_item,
    contact,
    kriseplan_response,
    seed_form,
    seed_network,
)
from tests.helpers import JSON_HEADERS, history_count, outcome


def params(qr: dict[str, Any], *, persist: bool = False) -> dict[str, Any]:
    """The Parameters body of a type-level $extract."""
    out: list[dict[str, Any]] = [{"name": "questionnaire-response", "resource": qr}]
    if persist:
        out.append({"name": "persist", "valueBoolean": True})
    return {"resourceType": "Parameters", "parameter": out}


async def extract(client: httpx.AsyncClient, qr: dict[str, Any], *, persist: bool = False) -> dict[str, Any]:
    """Run $extract and return the Bundle it answers."""
    resp = await client.post(
        "/fhir/QuestionnaireResponse/$extract", json=params(qr, persist=persist), headers=JSON_HEADERS
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["resourceType"] == "Parameters" and body["parameter"][0]["name"] == "return"
    bundle: dict[str, Any] = body["parameter"][0]["resource"]
    return bundle


def section(plan: dict[str, Any], code: str) -> dict[str, Any] | None:
    """The detail of one plan section."""
    for activity in plan.get("activity", []):
        if activity["detail"]["code"]["coding"][0]["code"] == code:
            detail: dict[str, Any] = activity["detail"]
            return detail
    return None


def profile_errors(plan: dict[str, Any]) -> list[Any]:
    """Errors of a plan against the Kriseplan profile."""
    probe = {**plan, "id": plan.get("id", "x")}
    return [i for i in validate_resource(probe, profile=KRISEPLAN) if i.severity == "error"]


async def network(client: httpx.AsyncClient, db: Database) -> tuple[dict[str, str], dict[str, Any]]:
    """The form, a patient's network, and the Practitioner author reference."""
    await seed_form(db)
    ids = await seed_network(client)
    return ids, {"reference": f"Practitioner/{ids['lege']}"}


async def test_extract_gives_a_conforming_kriseplan_transaction(
    client: httpx.AsyncClient, db: Database
) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author)
    qr["item"][3]["item"].append(contact("Legevakt", "116 117"))
    bundle = await extract(client, qr)
    assert bundle["type"] == "transaction"
    plan_entry, prov_entry = bundle["entry"]
    plan = plan_entry["resource"]
    assert plan_entry["request"] == {"method": "POST", "url": "CarePlan"}
    assert profile_errors(plan) == []
    assert [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]] == [
        "tidlige-tegn",
        "egenmestring",
        "kontakter",
        "tjenesteansvar",
        "parorende",
        "barn-og-dyr",
        "uonskede-tiltak",
    ]
    kontakter = section(plan, "kontakter")
    assert kontakter is not None
    # The brother is known (same name and phone): linked. Legevakt is new: contained, with its phone.
    assert kontakter["performer"] == [
        {
            "reference": f"RelatedPerson/{ids['brother']}",
            "display": "Per Nordmann (bror), tlf. +47 900 00 002",
        },
        {"reference": "#kontakt-1", "display": "Legevakt"},
    ]
    assert plan["contained"] == [
        {
            "resourceType": "Organization",
            "id": "kontakt-1",
            "name": "Legevakt",
            "telecom": [{"system": "phone", "value": "116 117"}],
        }
    ]
    assert section(plan, "barn-og-dyr") == {
        "code": {"coding": [{"system": SEKSJON, "code": "barn-og-dyr", "display": "Barn og dyr"}]},
        "status": "in-progress",
        "description": "Ingen barn eller dyr som trenger tilsyn.",
    }
    assert "Legevakt, tlf. 116 117" in plan["text"]["div"]
    provenance = prov_entry["resource"]
    assert provenance["target"] == [{"reference": plan_entry["fullUrl"]}]
    assert provenance["agent"][0]["who"] == author
    assert provenance["entity"][0]["role"] == "source"


async def test_persist_writes_plan_and_provenance(client: httpx.AsyncClient, db: Database) -> None:
    ids, author = await network(client, db)
    stored_qr = (
        await client.post(
            "/fhir/QuestionnaireResponse",
            headers=JSON_HEADERS,
            json=kriseplan_response(f"Patient/{ids['patient']}", author=author),
        )
    ).json()
    resp = await client.post(
        f"/fhir/QuestionnaireResponse/{stored_qr['id']}/$extract?persist=true", headers=JSON_HEADERS
    )
    assert resp.status_code == 200, resp.text
    result = resp.json()["parameter"][0]["resource"]
    assert result["type"] == "transaction-response"
    plan_loc, prov_loc = (e["response"]["location"] for e in result["entry"])
    plan = (await client.get(f"/fhir/{plan_loc.split('/_history')[0]}")).json()
    assert plan["status"] == "active" and profile_errors(plan) == []
    provenance = (await client.get(f"/fhir/{prov_loc.split('/_history')[0]}")).json()
    # Version-specific, as Provenance.target should be (https://hl7.org/fhir/R4/provenance.html).
    assert provenance["target"] == [{"reference": plan_loc}]
    assert provenance["entity"][0]["what"] == {"reference": f"QuestionnaireResponse/{stored_qr['id']}"}


async def test_an_in_progress_response_gives_a_draft(client: httpx.AsyncClient, db: Database) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author, status="in-progress")
    qr["item"] = qr["item"][:3]
    plan = (await extract(client, qr))["entry"][0]["resource"]
    assert plan["status"] == "draft" and profile_errors(plan) == []
    assert [a["detail"]["status"] for a in plan["activity"]] == ["not-started", "not-started"]


async def test_violence_and_children_sections_follow_their_gates(
    client: httpx.AsyncClient, db: Database
) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author, children=True, violence=True)
    plan = (await extract(client, qr))["entry"][0]["resource"]
    assert section(plan, "barn-og-dyr")["description"] == "Søsteren henter barna."  # type: ignore[index]
    assert section(plan, "voldsrisiko")["description"] == "Ring politiet ved trusler."  # type: ignore[index]


async def test_an_invalid_response_is_refused_and_nothing_written(
    client: httpx.AsyncClient, db: Database
) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author)
    qr["item"][6]["item"].append(answer_item("barn-og-dyr.tekst", {"valueString": "skal ikke være her"}))
    before = await history_count(client, "CarePlan")
    resp = await client.post(
        "/fhir/QuestionnaireResponse/$extract", json=params(qr, persist=True), headers=JSON_HEADERS
    )
    outcome(resp, 422, code="business-rule", expression="QuestionnaireResponse.item[6].item[1].answer[0]")
    assert await history_count(client, "CarePlan") == before


async def test_refusals(client: httpx.AsyncClient, db: Database) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author)
    no_author = {k: v for k, v in qr.items() if k != "author"}
    outcome(
        await client.post(
            "/fhir/QuestionnaireResponse/$extract", json=params(no_author), headers=JSON_HEADERS
        ),
        422,
        expression="QuestionnaireResponse.author",
    )
    other = {**qr, "questionnaire": "https://example.org/Questionnaire/x"}
    outcome(
        await client.post("/fhir/QuestionnaireResponse/$extract", json=params(other), headers=JSON_HEADERS),
        404,
    )
    unknown = {**qr, "subject": {"reference": f"Patient/{uid()}"}}
    outcome(
        await client.post("/fhir/QuestionnaireResponse/$extract", json=params(unknown), headers=JSON_HEADERS),
        404,
    )
    broken = {**qr, "status": 7}
    outcome(
        await client.post("/fhir/QuestionnaireResponse/$extract", json=params(broken), headers=JSON_HEADERS),
        400,
    )
    outcome(await client.get("/fhir/QuestionnaireResponse/$extract"), 405)


def intended_revision(ids: dict[str, str], author: dict[str, Any], plan_id: str) -> dict[str, Any]:
    """The Kriseplan the edited revision must produce, written out in full."""

    def act(
        code: str, display: str, text: str, performers: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "code": {"coding": [{"system": SEKSJON, "code": code, "display": display}]},
            "status": "in-progress",
            "description": text,
        }
        if performers:
            detail["performer"] = performers
        return {"detail": detail}

    patient = f"Patient/{ids['patient']}"
    return {
        "resourceType": "CarePlan",
        "id": plan_id,
        "contained": [
            {
                "resourceType": "RelatedPerson",
                "id": "kontakt-1",
                "patient": {"reference": patient},
                "relationship": [{"coding": [{"system": VOLVEN_9033, "code": "SI", "display": "Søster"}]}],
                "name": [{"text": "Lise Nordmann"}],
                "telecom": [{"system": "phone", "value": "911 22 333"}],
            }
        ],
        "extension": [
            {"url": "https://fellesplan.no/fhir/StructureDefinition/revisjonsdato", "valueDate": "2027-08-01"}
        ],
        "status": "active",
        "intent": "plan",
        "category": [
            {
                "coding": [
                    {"system": "urn:oid:2.16.578.1.12.4.1.1.9602", "code": "A01-2", "display": "Kriseplan"}
                ]
            },
            {
                "coding": [
                    {
                        "system": "https://fellesplan.no/fhir/CodeSystem/plantype",
                        "code": "kriseplan",
                        "display": "Kriseplan",
                    }
                ]
            },
        ],
        "title": "Kriseplan",
        "subject": {"reference": patient, "display": "Kari Nordmann"},
        "period": {"start": "2026-11-01"},
        "created": "2026-11-01",  # the plan's, not the revision's date
        "author": author,
        "contributor": [{"reference": patient}, author],
        "activity": [
            act("tidlige-tegn", "Tidlige tegn", "Sover dårlig og slutter å spise."),
            act("egenmestring", "Egenmestring", "Går tur."),
            act(
                "kontakter",
                "Kontakter i krise",
                "Ring broren først.",
                [
                    {
                        "reference": f"RelatedPerson/{ids['brother']}",
                        "display": "Per Nordmann (bror), tlf. +47 900 00 002",
                    },
                    {"reference": "#kontakt-1", "display": "Lise Nordmann"},
                ],
            ),
            act(
                "tjenesteansvar",
                "Tjenestenes ansvar",
                "Tjenestene samarbeider.\n\nAnsvar per tjeneste:\n- DPS: Akutteam og medisiner",
                [{"reference": f"Organization/{ids['dps']}", "display": "DPS"}],
            ),
            act("parorende", "Pårørende", "Broren kan komme."),
            act("barn-og-dyr", "Barn og dyr", "Ingen barn eller dyr som trenger tilsyn."),
            act("uonskede-tiltak", "Uønskede tiltak", "Ikke politi."),
        ],
    }


async def test_populate_edit_extract_post_round_trip(client: httpx.AsyncClient, db: Database) -> None:
    ids, author = await network(client, db)
    first = await extract(
        client, kriseplan_response(f"Patient/{ids['patient']}", author=author), persist=True
    )
    plan_id = first["entry"][0]["response"]["location"].split("/")[1]
    # Populate: the form comes back filled from the plan in force.
    resp = await client.post(
        "/fhir/Questionnaire/kriseplan-skjema/$populate",
        headers=JSON_HEADERS,
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "subject", "valueReference": {"reference": f"Patient/{ids['patient']}"}}],
        },
    )
    qr = resp.json()["parameter"][0]["resource"]
    stale = copy.deepcopy(qr)
    # Edit, as in the meeting: new early signs, a new contact, a new review date, consent answered.
    items = {i["linkId"]: i for i in qr["item"]}
    items["tidlige-tegn"]["item"][0]["answer"] = [{"valueString": "Sover dårlig og slutter å spise."}]
    items["plan"]["item"][1]["answer"] = [{"valueDate": "2027-08-01"}]
    new_contact = contact("Lise Nordmann", "911 22 333", "SI")
    items["kontakter"]["item"].append(new_contact)
    items["parorende"]["item"].append(answer_item("parorende.samtykke", {"valueBoolean": True}))
    qr.update(status="completed", author=author, authored="2026-12-01T09:00:00Z")
    bundle = await extract(client, qr)
    assert bundle["entry"][0]["request"] == {
        "method": "PUT",
        "url": f"CarePlan/{plan_id}",
        "ifMatch": 'W/"1"',
    }
    # Post it as any client would.
    posted = await client.post("/fhir", json=bundle, headers=JSON_HEADERS)
    assert posted.status_code == 200, posted.text
    stored = (await client.get(f"/fhir/CarePlan/{plan_id}")).json()
    assert stored["meta"]["versionId"] == "2"
    assert {k: v for k, v in stored.items() if k not in ("meta", "text")} == intended_revision(
        ids, author, plan_id
    )
    assert (
        stored["text"]["status"] == "generated"
        and "Lise Nordmann (søster), tlf. 911 22 333" in stored["text"]["div"]
    )
    assert profile_errors(stored) == []
    provenances = await client.get("/fhir/Provenance", params={"target": f"CarePlan/{plan_id}"})
    assert len(provenances.json()["entry"]) == 2
    # A second revision from the same, now outdated, form is refused: the plan changed meanwhile.
    stale.update(status="completed", author=author)
    stale["item"] = [i for i in stale["item"] if i["linkId"] != "parorende"]
    stale["item"].insert(
        5,
        {
            "linkId": "parorende",
            "item": [
                answer_item("parorende.tekst", {"valueString": "Broren kan komme."}),
                answer_item("parorende.samtykke", {"valueBoolean": False}),
            ],
        },
    )
    late = await client.post("/fhir", json=await extract(client, stale), headers=JSON_HEADERS)
    outcome(late, 412)


async def test_answers_outside_the_plan_are_reported(client: httpx.AsyncClient, db: Database) -> None:
    ids, author = await network(client, db)
    qr = kriseplan_response(f"Patient/{ids['patient']}", author=author)
    resp = await client.post("/fhir/QuestionnaireResponse/$extract", json=params(qr), headers=JSON_HEADERS)
    parts = {p["name"]: p["resource"] for p in resp.json()["parameter"]}
    assert [i["severity"] for i in parts["issues"]["issue"]] == ["information"]
    assert "parorende.samtykke" in parts["issues"]["issue"][0]["diagnostics"]
