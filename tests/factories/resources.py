"""Factories for the served resource types, with Norwegian content and valid identifiers."""

from __future__ import annotations

import random
import uuid
from typing import Any

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def synthetic_fnr(rng: random.Random | None = None) -> str:
    """A synthetic fødselsnummer (month + 80, as the national test data) with valid check digits."""
    rng = rng or random.Random()
    while True:
        day, month, year = rng.randint(1, 28), rng.randint(1, 12) + 80, rng.randint(0, 99)
        digits = [int(c) for c in f"{day:02d}{month:02d}{year:02d}{rng.randint(0, 999):03d}"]
        k1 = 11 - sum(d * w for d, w in zip(digits, _W1, strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        k2 = 11 - sum(d * w for d, w in zip([*digits, k1], _W2, strict=True)) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 != 10:
            return "".join(map(str, digits)) + f"{k1}{k2}"


def uid() -> str:
    """A unique FHIR id."""
    return uuid.uuid4().hex[:16]


def patient(**over: Any) -> dict[str, Any]:
    """A Patient with an FNR."""
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": FNR, "value": synthetic_fnr()}],
        "name": [{"family": "Nordmann", "given": ["Kari"]}],
        "gender": "female",
        "birthDate": "1985-04-12",
    }
    res.update(over)
    return res


def organization(**over: Any) -> dict[str, Any]:
    """An Organization (a municipal service)."""
    res: dict[str, Any] = {
        "resourceType": "Organization",
        "name": "Bergen kommune, rus og psykisk helse",
        "identifier": [{"system": ORGNR, "value": "964338531"}],
    }
    res.update(over)
    return res


def careplan(patient_id: str, **over: Any) -> dict[str, Any]:
    """A plain CarePlan for a patient (no Fellesplan profile claimed)."""
    res: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Oppfølgingsplan",
        "category": [{"coding": [{"system": "http://loinc.org", "code": "736271009"}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": "2026-01-01", "end": "2026-07-01"},
        "description": "Plan for hva som skal skje når ting blir vanskelig.",
    }
    res.update(over)
    return res
