"""Turning a named contact or service from a form into a CarePlan performer reference.

A name that matches a person or service the patient already has (same name, and the same phone
number for contacts) links to that resource, so a revision keeps real references; anything new is
kept as a contained resource with exactly what was agreed in the meeting
(https://hl7.org/fhir/R4/references.html#contained).
"""

from __future__ import annotations

from typing import Any

from app.forms.parties import relation
from app.forms.patient_data import PatientData, party_name, party_phone, same_phone

_SERVICE_TYPES = ("Organization", "Practitioner", "PractitionerRole", "CareTeam")


class Linker:
    """Builds performers and the contained resources they need."""

    def __init__(self, data: PatientData, patient_ref: str) -> None:
        self.data = data
        self.patient_ref = patient_ref
        self.contained: list[dict[str, Any]] = []

    def contact(self, answers: dict[str, Any]) -> dict[str, Any]:
        """A crisis contact: name, phone and (for next of kin) relationship."""
        name, phone = str(answers.get("navn") or ""), answers.get("telefon")
        coding = with_display(answers["relasjon"]) if isinstance(answers.get("relasjon"), dict) else None
        for ref, res in self.data.parties.items():
            if _same_name(res, name) and (not phone or same_phone(party_phone(res), str(phone))):
                return {"reference": ref, "display": _display(name, res, phone)}
        res_id = f"kontakt-{len(self.contained) + 1}"
        new: dict[str, Any]
        if coding is not None:
            new = {
                "resourceType": "RelatedPerson",
                "id": res_id,
                "patient": {"reference": self.patient_ref},
                "relationship": [{"coding": [coding]}],
                "name": [{"text": name}],
            }
        else:
            new = {"resourceType": "Organization", "id": res_id, "name": name}
        if phone:
            new["telecom"] = [{"system": "phone", "value": str(phone)}]
        self.contained.append(new)
        return {"reference": f"#{res_id}", "display": name}

    def service(self, answers: dict[str, Any]) -> dict[str, Any]:
        """A responsible service: linked by name when known, else named only."""
        name = str(answers.get("navn") or "")
        for ref, res in self.data.parties.items():
            if ref.split("/", 1)[0] in _SERVICE_TYPES and _same_name(res, name):
                return {"reference": ref, "display": name}
        return {"display": name}


def _same_name(res: dict[str, Any], name: str) -> bool:
    """Names equal ignoring case and surrounding space."""
    return bool(name) and party_name(res).strip().casefold() == name.strip().casefold()


def _display(name: str, res: dict[str, Any], phone: Any) -> str:
    """'Per Nordmann (bror), tlf. +47 900 00 002': readable wherever the reference is shown."""
    rel = relation(res)
    return name + (f" ({rel})" if rel else "") + (f", tlf. {phone}" if phone else "")


def with_display(coding: dict[str, Any]) -> dict[str, Any]:
    """The Coding with its display from the code system we hold, when the form left it out."""
    if coding.get("display") or not coding.get("system"):
        return dict(coding)
    from app.validation.hook import engine

    code_system = engine().defs.code_systems.get(str(coding["system"])) or {}
    display = next(
        (
            c.get("display")
            for c in walk_concepts(code_system.get("concept") or [])
            if c.get("code") == coding.get("code")
        ),
        None,
    )
    return {**coding, "display": display} if display else dict(coding)


def walk_concepts(concepts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Concepts of a CodeSystem, nested ones included."""
    out: list[dict[str, Any]] = []
    for concept in concepts:
        out += [concept, *walk_concepts(concept.get("concept") or [])]
    return out
