"""Questionnaire/$populate: pre-fill from demographics, care team, contacts and the current Kriseplan."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from app.forms.qr_validation import validate_response
from tests.factories.resources import uid
from tests.forms.factories import (
    FORM_URL,
    kriseplan_response,
    kriseplan_skjema,
    question,
    questionnaire,
    seed_form,
    seed_network,
)
from tests.helpers import JSON_HEADERS, outcome

SDC_INITIAL = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression"


def subject(ref: str) -> dict[str, Any]:
    """The Parameters body of an instance-level $populate."""
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "subject", "valueReference": {"reference": ref}}],
    }


def parts(body: dict[str, Any]) -> dict[str, Any]:
    """Parameters parts by name."""
    assert body["resourceType"] == "Parameters", body
    return {p["name"]: p.get("resource") for p in body["parameter"]}


def answers(response: dict[str, Any]) -> dict[str, list[Any]]:
    """Every answer value by linkId (answers of repeating groups in order)."""
    out: dict[str, list[Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            for ans in item.get("answer", []):
                out.setdefault(item["linkId"], []).extend(v for k, v in ans.items() if k.startswith("value"))
                walk(ans.get("item", []))
            walk(item.get("item", []))

    walk(response.get("item", []))
    return out


def initial(expression: str) -> list[dict[str, Any]]:
    """An SDC initialExpression extension."""
    return [{"url": SDC_INITIAL, "valueExpression": {"language": "text/fhirpath", "expression": expression}}]


async def populate(client: httpx.AsyncClient, patient_id: str) -> dict[str, Any]:
    """$populate of the kriseplan-skjema for a patient."""
    resp = await client.post(
        "/fhir/Questionnaire/kriseplan-skjema/$populate",
        json=subject(f"Patient/{patient_id}"),
        headers=JSON_HEADERS,
    )
    assert resp.status_code == 200, resp.text
    return parts(resp.json())


async def test_without_a_plan_contacts_and_services_come_from_the_network(
    client: httpx.AsyncClient, db: Database
) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    result = await populate(client, ids["patient"])
    qr = result["response"]
    assert qr["status"] == "in-progress" and qr["questionnaire"] == f"{FORM_URL}|0.1.0"
    assert qr["subject"] == {"reference": f"Patient/{ids['patient']}", "display": "Kari Nordmann"}
    got = answers(qr)
    assert got["kontakter.kontakt.navn"] == ["Per Nordmann"]
    assert got["kontakter.kontakt.telefon"] == ["+47 900 00 002"]
    assert got["kontakter.kontakt.relasjon"][0]["code"] == "BR"
    assert got["tjenesteansvar.tjeneste.navn"] == ["DPS", "Kommunen"]
    assert "basedOn" not in qr and "tidlige-tegn.tekst" not in got
    # What populate produces is a valid in-progress response to the form.
    assert [i for i in validate_response(qr, kriseplan_skjema()) if i.severity == "error"] == []


async def test_a_revision_starts_from_the_current_plan(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    qr = kriseplan_response(
        f"Patient/{ids['patient']}",
        children=True,
        violence=True,
        author={"reference": f"Practitioner/{ids['lege']}"},
    )
    resp = await client.post(
        "/fhir/QuestionnaireResponse/$extract",
        headers=JSON_HEADERS,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "questionnaire-response", "resource": qr},
                {"name": "persist", "valueBoolean": True},
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    plan_id = parts(resp.json())["return"]["entry"][0]["response"]["location"].split("/")[1]
    filled = (await populate(client, ids["patient"]))["response"]
    assert filled["basedOn"] == [{"reference": f"CarePlan/{plan_id}/_history/1"}]
    # The pre-filled response can be saved as it is (work in progress in the meeting).
    saved = await client.post("/fhir/QuestionnaireResponse", json=filled, headers=JSON_HEADERS)
    assert saved.status_code == 201, saved.text
    # Every answer comes back, except the consent question (a Consent matter, not in the CarePlan).
    sent = {k: v for k, v in answers(qr).items() if k != "parorende.samtykke"}
    assert _codes_only(answers(filled)) == sent


def _codes_only(got: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Answers with Codings reduced to system and code (populate adds the display)."""
    return {
        k: [{"system": x["system"], "code": x["code"]} if isinstance(x, dict) else x for x in v]
        for k, v in got.items()
    }


async def test_initial_expressions_fill_demographics(client: httpx.AsyncClient) -> None:
    ids = await seed_network(client)
    q = questionnaire(
        question("navn", "string", extension=initial("%patient.name.first().given.first()")),
        question("fodt", "date", extension=initial("%patient.birthDate")),
        question("kjonn", "choice", extension=initial("%patient.gender")),
        question("team", "string", extension=initial("%careTeam.participant.count().toString()")),
        question("fast", "string", initial=[{"valueString": "standard"}]),
        question("feil", "string", extension=initial("%patient.name.where(")),
        question("hel", "string", extension=initial("%patient.name")),
    )
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "questionnaire", "resource": q},
            {"name": "subject", "valueReference": {"reference": f"Patient/{ids['patient']}"}},
        ],
    }
    resp = await client.post("/fhir/Questionnaire/$populate", json=body, headers=JSON_HEADERS)
    assert resp.status_code == 200, resp.text
    result = parts(resp.json())
    assert answers(result["response"]) == {
        "navn": ["Kari"],
        "fodt": ["1985-04-12"],
        "kjonn": [{"code": "female"}],
        "team": ["2"],
        "fast": ["standard"],
    }
    assert [i["code"] for i in result["issues"]["issue"]] == ["exception"]  # the broken expression
    # A whole element (HumanName) is not turned into text for a string question.


async def test_by_canonical_with_get(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    resp = await client.get(
        "/fhir/Questionnaire/$populate",
        params={"canonical": FORM_URL, "subject": f"Patient/{ids['patient']}"},
    )
    assert resp.status_code == 200, resp.text
    assert parts(resp.json())["response"]["subject"]["reference"] == f"Patient/{ids['patient']}"


async def test_errors(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    outcome(
        await client.post(
            "/fhir/Questionnaire/kriseplan-skjema/$populate",
            json=subject(f"Patient/{uid()}"),
            headers=JSON_HEADERS,
        ),
        404,
    )
    outcome(
        await client.post(
            "/fhir/Questionnaire/kriseplan-skjema/$populate",
            json={"resourceType": "Parameters"},
            headers=JSON_HEADERS,
        ),
        400,
        expression="subject",
    )
    outcome(
        await client.post(
            "/fhir/Questionnaire/kriseplan-skjema/$populate", json=subject("Group/x"), headers=JSON_HEADERS
        ),
        400,
        expression="subject",
    )
    outcome(
        await client.post(
            f"/fhir/Questionnaire/{uid()}/$populate", json=subject("Patient/x"), headers=JSON_HEADERS
        ),
        404,
    )
    outcome(await client.get("/fhir/Questionnaire/$populate", params={"subject": "Patient/x"}), 400)
    outcome(
        await client.get(
            "/fhir/Questionnaire/$populate",
            params={"subject": "Patient/x", "canonical": "https://example.org/none"},
        ),
        404,
    )
    outcome(
        await client.get(
            "/fhir/Questionnaire/$populate", params={"subject": "Patient/a b$", "canonical": FORM_URL}
        ),
        400,
    )


async def test_plan_answers_come_from_the_newest_active_plan(client: httpx.AsyncClient, db: Database) -> None:
    await seed_form(db)
    ids = await seed_network(client)
    author = {"reference": f"Practitioner/{ids['lege']}"}
    for text in ("Første versjon.", "Andre versjon."):
        qr = kriseplan_response(f"Patient/{ids['patient']}", author=author)
        qr["item"][1]["item"][0]["answer"] = [{"valueString": text}]
        body = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "questionnaire-response", "resource": qr},
                {"name": "persist", "valueBoolean": True},
            ],
        }
        assert (
            await client.post("/fhir/QuestionnaireResponse/$extract", json=body, headers=JSON_HEADERS)
        ).status_code == 200
    got = answers((await populate(client, ids["patient"]))["response"])
    assert got["tidlige-tegn.tekst"] == ["Andre versjon."]
