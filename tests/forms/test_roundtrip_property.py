"""Property: whatever is written in the form survives extract -> plan -> populate unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.forms.extract import build_careplan
from app.forms.patient_data import PatientData
from app.forms.populate import populate_response
from app.forms.qr_validation import validate_response
from app.validation.hook import validate_resource
from tests.forms.factories import KRISEPLAN, answer_item, kriseplan_response, kriseplan_skjema

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Kari"], "family": "Nordmann"}]}
AUTHOR = {"reference": "Practitioner/lege"}
_CHARS = st.characters(categories=("L", "N", "P", "S", "Zs"), include_characters="<>&\"'æøåÆØÅ")
_LINE = st.text(alphabet=_CHARS, min_size=1, max_size=30).filter(lambda s: s.strip() == s and s)
_TEXT = st.lists(_LINE, min_size=1, max_size=3).map("\n".join)
_CONTACT = st.tuples(_LINE, _LINE, st.sampled_from([None, "BR", "SI", "MO"]))
_SERVICE = st.tuples(_LINE, _TEXT)


def _form(texts: list[str], contacts: list[Any], services: list[Any], children: bool) -> dict[str, Any]:
    """A completed response with these texts, contacts and services."""
    qr = kriseplan_response("Patient/p1", author=AUTHOR, children=children)
    for index, value in zip((1, 2, 3, 4, 7), texts, strict=True):
        qr["item"][index]["item"][0]["answer"] = [{"valueString": value}]
    kontakter = []
    for name, phone, relation in contacts:
        items = [answer_item("kontakter.kontakt.navn", {"valueString": name})]
        if relation:
            coding = {"system": "urn:oid:2.16.578.1.12.4.1.1.9033", "code": relation}
            items.append(answer_item("kontakter.kontakt.relasjon", {"valueCoding": coding}))
        items.append(answer_item("kontakter.kontakt.telefon", {"valueString": phone}))
        kontakter.append({"linkId": "kontakter.kontakt", "item": items})
    qr["item"][3]["item"][1:] = kontakter
    qr["item"][4]["item"][1:] = [
        {
            "linkId": "tjenesteansvar.tjeneste",
            "item": [
                answer_item("tjenesteansvar.tjeneste.navn", {"valueString": name}),
                answer_item("tjenesteansvar.tjeneste.ansvar", {"valueString": duty}),
            ],
        }
        for name, duty in services
    ]
    return qr


def _values(response: dict[str, Any]) -> list[tuple[str, Any]]:
    """(linkId, value) of every answer in document order, Codings reduced to system and code."""
    out: list[tuple[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            for answer in item.get("answer", []):
                for key, value in answer.items():
                    if key == "valueCoding":
                        value = {"system": value["system"], "code": value["code"]}
                    if key.startswith("value") and item["linkId"] != "parorende.samtykke":
                        out.append((item["linkId"], value))
            walk(item.get("item", []))

    walk(response.get("item", []))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(_TEXT, min_size=5, max_size=5),
    contacts=st.lists(_CONTACT, min_size=1, max_size=3),
    services=st.lists(_SERVICE, min_size=1, max_size=3),
    children=st.booleans(),
)
def test_form_to_plan_to_form_is_lossless(
    texts: list[str], contacts: list[Any], services: list[Any], children: bool
) -> None:
    form = kriseplan_skjema()
    qr = _form(texts, contacts, services, children)
    assert [i for i in validate_response(qr, form) if i.severity == "error"] == []
    plan = build_careplan(qr, form, PatientData(PATIENT), AUTHOR).careplan
    assert [
        i for i in validate_resource({**plan, "id": "x"}, profile=KRISEPLAN) if i.severity == "error"
    ] == []
    stored = {**plan, "id": "plan1", "meta": {"versionId": "1"}}
    again, _ = populate_response(form, PatientData(PATIENT, kriseplan=stored))
    assert _values(again) == _values(qr)
