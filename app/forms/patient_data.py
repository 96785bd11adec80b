"""What Fellesplan knows about one patient, for pre-filling and extracting forms.

Every read runs with the caller's context, so a form never shows what the caller may not see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.fhir.errors import NotFound
from app.forms.narrative import PLANTYPE
from app.forms.parties import human_name
from app.forms.store import FormStore

_PARTY_TYPES = ("RelatedPerson", "Organization", "Practitioner", "PractitionerRole", "CareTeam")


@dataclass
class PatientData:
    """The patient, their care teams, next of kin and current crisis plan."""

    patient: dict[str, Any]
    care_teams: list[dict[str, Any]] = field(default_factory=list)
    related_persons: list[dict[str, Any]] = field(default_factory=list)
    kriseplan: dict[str, Any] | None = None
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)  # "Type/id" -> resource

    @property
    def reference(self) -> str:
        """'Patient/<id>'."""
        return f"Patient/{self.patient['id']}"

    @property
    def display(self) -> str:
        """The patient's name."""
        return human_name(self.patient.get("name") or [])


async def load_patient_data(store: FormStore, patient_id: str) -> PatientData:
    """Load everything a Kriseplan form draws on; 404 when the caller cannot see the patient."""
    patient = await store.get("Patient", patient_id)
    if patient is None:
        raise NotFound(f"Patient/{patient_id} is not known.", expression="subject")
    ref = f"Patient/{patient_id}"
    data = PatientData(patient)
    data.care_teams = [
        t
        for t in await store.find("CareTeam", {"subject": ref})
        if t.get("status") in (None, "active", "proposed")
    ]
    data.related_persons = [
        r for r in await store.find("RelatedPerson", {"patient": ref}) if r.get("active", True)
    ]
    plans = await store.find("CarePlan", {"subject": ref, "category": f"{PLANTYPE}|kriseplan"})
    data.kriseplan = current_plan(plans)
    for person in data.related_persons:
        data.parties[f"RelatedPerson/{person['id']}"] = person
    await _load_parties(store, data, _referenced_parties(data))
    return data


def current_plan(plans: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The plan a revision starts from: the newest active one, else the newest draft."""
    for status in ("active", "draft"):
        candidates = [p for p in plans if p.get("status") == status]
        if candidates:
            return max(candidates, key=lambda p: str((p.get("meta") or {}).get("lastUpdated", "")))
    return None


def _referenced_parties(data: PatientData) -> set[str]:
    """References to people and services in the current plan and the care teams."""
    refs: set[str] = set()
    for activity in (data.kriseplan or {}).get("activity") or []:
        refs.update(
            str(p.get("reference"))
            for p in (activity.get("detail") or {}).get("performer") or []
            if p.get("reference")
        )
    for team in data.care_teams:
        refs.update(
            str(p["member"]["reference"])
            for p in team.get("participant") or []
            if (p.get("member") or {}).get("reference")
        )
    return {r for r in refs if r.split("/", 1)[0] in _PARTY_TYPES and r not in data.parties}


async def _load_parties(store: FormStore, data: PatientData, refs: set[str]) -> None:
    """Fetch referenced parties the caller may see (others stay unresolved)."""
    for ref in sorted(refs):
        res_type, _, res_id = ref.partition("/")
        found = await store.get(res_type, res_id)
        if found is not None:
            data.parties[ref] = found


def party_name(resource: dict[str, Any]) -> str:
    """The name of a person or service."""
    name = resource.get("name")
    return name if isinstance(name, str) else human_name(name or [])


def party_phone(resource: dict[str, Any]) -> str | None:
    """The first phone number of a person or service."""
    return next(
        (
            str(t["value"])
            for t in resource.get("telecom") or []
            if t.get("system", "phone") == "phone" and t.get("value")
        ),
        None,
    )


def same_phone(a: str | None, b: str | None) -> bool:
    """Phone numbers equal ignoring spaces, dashes and a +47 prefix."""

    def norm(s: str) -> str:
        digits = re.sub(r"\D", "", s)
        return digits[2:] if digits.startswith("47") and len(digits) == 10 else digits

    return a is not None and b is not None and norm(a) == norm(b)
