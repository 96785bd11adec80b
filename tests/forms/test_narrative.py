"""Generated CarePlan narratives: content for the 3 a.m. reader, and XHTML that cannot carry code."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.forms.narrative import NARRATIVE_ID, ensure_narrative, render_careplan_narrative
from app.validation.hook import validate_resource
from app.validation.narrative import html_checks
from tests.factories.resources import uid
from tests.forms.factories import put
from tests.helpers import JSON_HEADERS

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
NS = "{http://www.w3.org/1999/xhtml}"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
ALLOWED = {"div", "p", "h2", "h3", "ul", "li", "b", "i", "br"}


def example(name: str) -> dict[str, Any]:
    """A product example without its narrative."""
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    data.pop("text", None)
    return data


def parse(div: str) -> ET.Element:
    """Parse the div as XML (it must be well-formed XHTML)."""
    return ET.fromstring(div)


def visible(div: str) -> str:
    """All text content of the div."""
    return "".join(parse(div).itertext())


def kari_with_contacts() -> dict[str, Any]:
    """The Kari crisis plan with a contained contact that has a phone number."""
    plan = example("CarePlan-kriseplan-kari.json")
    plan["contained"] = [
        {
            "resourceType": "RelatedPerson",
            "id": "k1",
            "patient": {"reference": "Patient/kari"},
            "relationship": [
                {
                    "coding": [
                        {"system": "urn:oid:2.16.578.1.12.4.1.1.9033", "code": "SO", "display": "Søster"}
                    ]
                }
            ],
            "name": [{"text": "Lise Nordmann"}],
            "telecom": [{"system": "phone", "value": "+47 911 22 333"}],
        }
    ]
    plan["activity"][2]["detail"]["performer"].insert(0, {"reference": "#k1", "display": "Lise"})
    return plan


def test_kriseplan_sections_come_in_the_fixed_order() -> None:
    plan = kari_with_contacts()
    plan["activity"].reverse()  # stored order must not matter
    text = visible(render_careplan_narrative(plan, redacted=False)["div"])
    labels = [
        "Tidlige tegn",
        "Egenmestring",
        "Kontakter i krise",
        "Tjenestenes ansvar",
        "Pårørende",
        "Barn og dyr",
        "Uønskede tiltak",
        "Voldsrisiko",
    ]
    positions = [text.index(label) for label in labels]
    assert positions == sorted(positions)


def test_contacts_services_and_review_date_are_shown() -> None:
    narrative = render_careplan_narrative(kari_with_contacts(), redacted=False)
    text = visible(narrative["div"])
    assert "Lise Nordmann (søster), tlf. +47 911 22 333" in text
    assert "Per Nordmann (bror)" in text
    assert "Ansvarlige tjenester:Kommunal psykisk helse og rusDPS" in text
    assert "Revisjonsdato: 01.05.2027" in text and "Gjelder fra: 01.11.2026" in text
    assert "Status: aktiv" in text
    assert narrative["status"] == "generated"
    assert "Skjermet" not in text


def test_service_duties_are_listed_with_each_service() -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    detail = plan["activity"][3]["detail"]
    detail["description"] = (
        "Felles tekst.\n\nAnsvar per tjeneste:\n- DPS: Akutteam\n- Kommunal psykisk helse og rus: Hjemmebesøk"
    )
    text = visible(render_careplan_narrative(plan, redacted=False)["div"])
    assert "Kommunal psykisk helse og rus: Hjemmebesøk" in text and "DPS: Akutteam" in text
    assert "Ansvar per tjeneste" not in text


def test_redacted_plans_are_marked_and_hidden_sections_named() -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan["activity"] = [
        a
        for a in plan["activity"]
        if a["detail"]["code"]["coding"][0]["code"] != "voldsrisiko"
        and a["detail"]["code"]["coding"][0]["code"] != "parorende"
    ]
    text = visible(render_careplan_narrative(plan, redacted=True)["div"])
    assert text.startswith("Skjermet innhold")
    assert "PårørendeSkjermet for deg." in text and "VoldsrisikoSkjermet for deg." in text
    plain = visible(render_careplan_narrative(plan, redacted=False)["div"])
    assert "Skjermet" not in plain and "PårørendeIkke utfylt." in plain and "Voldsrisiko" not in plain


def test_individual_plan_shows_coordinator_goals_and_domains_in_order() -> None:
    plan = example("CarePlan-individuell-plan-kari.json")
    plan["activity"].reverse()
    text = visible(render_careplan_narrative(plan, redacted=False)["div"])
    assert "Koordinator: Practitioner/lege-hansen" in text and "Goal/egen-bolig" in text
    assert text.index("Rus") < text.index("Bolig") < text.index("Økonomi")
    assert "fra 15.11.2026 til 15.05.2027" in text


@pytest.mark.parametrize("name", ["CarePlan-kriseplan-kari.json", "CarePlan-individuell-plan-kari.json"])
def test_generated_narratives_pass_the_validator(name: str) -> None:
    plan = example(name)
    ensure_narrative("CarePlan", plan)
    assert [i for i in validate_resource(plan) if i.severity == "error"] == []


def test_ensure_narrative_adds_keeps_and_refreshes() -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    ensure_narrative("CarePlan", plan)
    assert plan["text"]["id"] == NARRATIVE_ID
    plan["activity"][0]["detail"]["description"] = "Ny tekst om tidlige tegn."
    ensure_narrative("CarePlan", plan)  # our own narrative is regenerated when the plan changes
    assert "Ny tekst om tidlige tegn." in plan["text"]["div"]
    own = {"status": "additional", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Egen</p></div>'}
    plan["text"] = copy.deepcopy(own)
    ensure_narrative("CarePlan", plan)
    assert plan["text"] == own
    patient = {"resourceType": "Patient"}
    ensure_narrative("Patient", patient)
    assert "text" not in patient


def test_injected_markup_does_not_survive() -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan["title"] = '<script>alert("x")</script>'
    plan["activity"][0]["detail"]["description"] = '<img src=x onerror="alert(1)"><a href="javascript:x">'
    plan["activity"][2]["detail"]["performer"][0]["display"] = '"><b onclick=alert(1)>Per</b>'
    div = render_careplan_narrative(plan, redacted=False)["div"]
    root = parse(div)
    assert {el.tag.removeprefix(NS) for el in root.iter()} <= ALLOWED
    assert all(not el.attrib for el in root.iter())
    assert "<script" not in div and "<img" not in div and "<a " not in div
    assert '<script>alert("x")</script>' in visible(div)  # shown as text, so nothing is hidden
    assert html_checks(div, content=False) is None and html_checks(div, content=True) is None


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=200, deadline=None)
@given(title=_TEXT, description=_TEXT, name=_TEXT, phone=_TEXT)
def test_any_text_gives_well_formed_safe_xhtml(title: str, description: str, name: str, phone: str) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan["title"] = title or "x"
    plan["activity"][0]["detail"]["description"] = description or "x"
    plan["contained"] = [
        {
            "resourceType": "Organization",
            "id": "o1",
            "name": name or "x",
            "telecom": [{"system": "phone", "value": phone or "1"}],
        }
    ]
    plan["activity"][2]["detail"]["performer"] = [{"reference": "#o1"}]
    div = render_careplan_narrative(plan, redacted=False)["div"]
    root = parse(div)
    assert root.tag == f"{NS}div"
    assert {el.tag.removeprefix(NS) for el in root.iter()} <= ALLOWED
    assert all(not el.attrib for el in root.iter())
    assert html_checks(div, content=False) is None
    # Nothing is lost but what XML cannot carry (control characters); line breaks become <br/>.
    assert _squash(_XML_INVALID.sub("", description or "x")) in _squash(visible(div))


def _squash(value: str) -> str:
    """Text without whitespace, for comparisons across line breaks."""
    return "".join(value.split())


async def test_stored_careplans_get_a_narrative(client: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan.pop("id")
    resp = await client.post("/fhir/CarePlan", json=plan, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    stored = (await client.get(f"/fhir/CarePlan/{resp.json()['id']}")).json()
    assert stored["text"]["status"] == "generated"
    assert "Sover dårlig flere netter på rad" in visible(stored["text"]["div"])


async def test_update_refreshes_the_generated_narrative(client: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan["id"] = uid()
    stored = await put(client, plan)
    stored["activity"][1]["detail"]["description"] = "Lytte til musikk."
    updated = await put(client, stored)
    assert "Lytte til musikk." in updated["text"]["div"]
    assert updated["meta"]["versionId"] == "2"


async def test_client_narrative_is_kept_on_write(client: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan.pop("id")
    plan["text"] = {
        "status": "additional",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Egen tekst</p></div>',
    }
    resp = await client.post("/fhir/CarePlan", json=plan, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    assert resp.json()["text"] == plan["text"]


def test_ensure_narrative_marks_plans_labelled_redacted() -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    plan["meta"] = {
        "security": [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "REDACTED"}
        ]
    }
    ensure_narrative("CarePlan", plan)
    assert visible(plan["text"]["div"]).startswith("Skjermet innhold")
